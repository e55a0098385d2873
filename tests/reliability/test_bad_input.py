"""Bad input, fuzzed with hypothesis: every parser and tool either works or says what is wrong
with a ColletError (for tools: an error result the model reads), and the session goes on.

Covered: slash commands and ``%%collet`` flags, mcp.json, config.toml and COLLET_* variables,
SKILL.md, the model's tool arguments (wrong types, missing fields, invalid JSON, huge strings)
and unknown tool names, 50 MB tool outputs, binary files, non-UTF-8 bytes. The magic itself is
fuzzed in a real kernel in test_magic_fuzz.py.
"""

from __future__ import annotations

import asyncio
import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from collet_nb.adapters.config import load_settings
from collet_nb.adapters.journal import JsonlJournal, read_records
from collet_nb.adapters.skills import SkillTools, discover_skills
from collet_nb.adapters.tools import BuiltinTools
from collet_nb.core.chat import ToolCall, ToolResult, ToolSpec
from collet_nb.core.commands import COMMANDS, parse_cell_flags, parse_command
from collet_nb.core.context import ConversationContext
from collet_nb.core.events import Notice
from collet_nb.core.kinds import ChannelId
from collet_nb.core.mcp_config import parse_mcp_config
from collet_nb.core.session import AgentSession
from collet_nb.core.settings import FIELD_TYPES, Settings
from collet_nb.core.skills import Skill, SkillProblem, parse_skill
from collet_nb.errors import ConfigError
from collet_nb.runtime.hub import SessionHub
from collet_nb.runtime.loop import MAX_RESULT_CHARS
from collet_nb.runtime.runner import SessionRunner
from collet_nb.ui.protocol import ProtocolError, check_request
from tests.reliability.figures import FIGURES, report
from tests.support.stand_ins import (
    EchoTools,
    FakeClock,
    FunctionModel,
    MemoryJournal,
    answered_tools,
    call,
    last_user,
    text,
)

BOUND = 30.0
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
NAMES = [alias for spec in COMMANDS for alias in (spec.name, *spec.aliases)]
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def count(name: str) -> None:
    """One more input fuzzed under ``name`` (for the figures)."""
    inputs = FIGURES.setdefault("bad input (inputs fuzzed)", {})
    inputs[name] = inputs.get(name, 0) + 1


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, BOUND))


def attempt(errors, function, *args, **kwargs):
    """``(result, None)``, or ``(None, error)`` when ``function`` raised one of ``errors``."""
    try:
        return function(*args, **kwargs), None
    except errors as exc:
        return None, exc


# ── commands and flags ──


@FUZZ
@given(
    st.one_of(
        st.text(),
        st.builds(
            lambda name, args: f"/{name} {args}", st.sampled_from(NAMES), st.text(max_size=40)
        ),
    )
)
def test_any_slash_command_line_parses_or_says_what_is_valid(line):
    count("slash commands")
    command, error = attempt(ConfigError, parse_command, line)
    if error is not None:
        assert str(error)
    else:
        assert command.name in {spec.name for spec in COMMANDS}


@FUZZ
@given(st.text())
def test_any_collet_cell_line_parses_or_names_the_usage(line):
    count("%%collet flags")
    flags, error = attempt(ConfigError, parse_cell_flags, line)
    if error is not None:
        assert "usage" in str(error) or "--agent" in str(error)
    else:
        assert flags.agent in (None, "code", "architect", "ask")


@FUZZ
@given(st.one_of(JSON, st.fixed_dictionaries({"protocol_version": st.just(1), "type": JSON})))
@example({"protocol_version": 1, "type": "send", "text": "a lone \ud800 surrogate"})
def test_any_sidebar_message_is_accepted_or_rejected_with_a_protocol_error(data):
    count("sidebar messages")
    checked, error = attempt((ProtocolError, ConfigError), check_request, data)
    if error is not None:
        assert str(error)
    else:
        assert checked["type"] in ("send", "command", "hello")


# ── configuration files ──

SERVER_ENTRY = st.fixed_dictionaries(
    {},
    optional={
        key: JSON | st.text(max_size=30)
        for key in ("command", "args", "env", "cwd", "url", "headers", "disabled", "type")
    },
)


@FUZZ
@given(
    document=st.one_of(
        st.text(),
        JSON.map(json.dumps),
        st.dictionaries(st.text(max_size=10), SERVER_ENTRY | JSON, max_size=3).map(
            lambda servers: json.dumps({"mcpServers": servers})
        ),
    ),
    env=st.dictionaries(st.text(max_size=6), st.text(max_size=10), max_size=3),
)
def test_any_mcp_json_parses_or_is_a_config_error_naming_the_file(document, env):
    count("mcp.json")
    servers, error = attempt(
        ConfigError, parse_mcp_config, document, source="/p/.collet/mcp.json", env=env
    )
    if error is not None:
        assert "mcp.json" in str(error)
    else:
        assert all(isinstance(name, str) for name in servers)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)  # a TOML basic string


TOML_SCALAR = st.one_of(
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
)


@FUZZ
@given(
    table=st.dictionaries(st.sampled_from([*FIELD_TYPES, "bogus"]), TOML_SCALAR, max_size=4),
    raw=st.binary(max_size=60),
    use_raw=st.booleans(),
    env=st.dictionaries(
        st.sampled_from(["COLLET_PROVIDER", "COLLET_MAX_ITERATIONS", "COLLET_TOOL_TIMEOUT",
                         "COLLET_APPROVAL", "COLLET_CONTEXT_BUDGET", "COLLET_TASK_TIMEOUT"]),
        st.text(max_size=12).filter(lambda v: "\0" not in v),
        max_size=2,
    ),
)  # fmt: skip
def test_any_config_toml_or_environment_loads_or_is_a_config_error(table, raw, use_raw, env):
    count("config.toml + COLLET_* env")
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        (project / ".collet").mkdir()
        body = (
            raw
            if use_raw
            else "\n".join(f"{k} = {toml_value(v)}" for k, v in table.items()).encode()
        )
        (project / ".collet" / "config.toml").write_bytes(body)
        loaded, error = attempt(
            ConfigError, load_settings, project_dir=project, env={"COLLET_HOME": folder, **env}
        )
        if error is not None:
            assert str(error)
        else:
            assert isinstance(loaded, Settings)
            for name in ("tool_timeout", "task_timeout", "request_timeout"):
                assert getattr(loaded, name) > 0  # NaN is refused, never kept


YAML_VALUE = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["[a, b", "{x: 1}", "!!python/object:os.system ls", "&a [*a]", "- - -", "null",
                     "'unterminated", "|\n  block", ": :", "2024-01-01", "0x1F", "~"]),
)  # fmt: skip


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(["name", "description", "license", "metadata", "allowed-tools",
                         "compatibility", "extra", ""]),
        YAML_VALUE,
        max_size=5,
    ),
    body=st.text(max_size=60),
    junk=st.text(max_size=80),
    framed=st.booleans(),
)  # fmt: skip
def test_any_skill_md_is_a_skill_or_a_problem_naming_the_rule(fields, body, junk, framed):
    count("SKILL.md")
    head = "\n".join(f"{k}: {v}" for k, v in fields.items())
    text_ = f"---\n{head}\n---\n{body}" if framed else junk
    outcome = parse_skill(text_, folder="demo", location="/p/.collet/skills/demo/SKILL.md")
    assert isinstance(outcome, (Skill, SkillProblem))
    if isinstance(outcome, SkillProblem):
        assert outcome.rule


def test_unreadable_skill_files_are_skipped_with_a_reason_and_the_rest_still_load(tmp_path):
    skills = tmp_path / ".collet" / "skills"
    for name, data in {
        "latin": "---\nname: latin\ndescription: caf\xe9\n---\n".encode("latin-1"),
        "binary": b"\x89PNG\r\n\x1a\n\0\0\0",
        "huge": b"---\nname: huge\ndescription: x\n---\n" + b"y" * 3_000_000,
        "good": b"---\nname: good\ndescription: A fine skill.\n---\nDo it.\n",
    }.items():
        (skills / name).mkdir(parents=True)
        (skills / name / "SKILL.md").write_bytes(data)
    (skills / "dir-as-file").mkdir()
    (skills / "dir-as-file" / "SKILL.md").mkdir()
    catalog = discover_skills(tmp_path, tmp_path / "home")
    assert catalog.names() == ("good",)
    reasons = {Path(p.file).parent.name: p.rule for p in catalog.problems}
    assert set(reasons) == {"latin", "binary", "huge", "dir-as-file"}
    assert all(reasons.values())
    result = run(SkillTools(catalog).call(ToolCall(id="c", name="skill"), {"name": "latin"}))
    assert result.is_error


# ── what the model sends ──

BUILTIN_NAMES = ("file_read", "file_write", "file_edit", "search")


def huge_or(strategy):
    """``strategy``, or now and then a string of a megabyte or more."""
    return st.one_of(strategy, st.integers(1, 3).map(lambda n: "x" * (n * 1_000_000)))


# Hypothesis reprs a megabyte argument now and then (and warns about it): not a failure.
@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(BUILTIN_NAMES),
    arguments=st.dictionaries(
        st.sampled_from(["path", "content", "offset", "limit", "old_string", "new_string",
                         "replace_all", "pattern", "glob", "unknown"]),
        huge_or(JSON),
        max_size=5,
    ),
)  # fmt: skip
def test_any_arguments_to_a_file_tool_give_a_result_never_an_exception(
    tmp_path_factory, name, arguments
):
    count("tool arguments")
    project = tmp_path_factory.getbasetemp() / "fuzz-project"
    project.mkdir(exist_ok=True)
    (project / "a.txt").write_text("alpha\nbeta\n")
    tools = BuiltinTools(project_dir=project)
    result = run(
        tools.call(ToolCall(id="c1", name=name, arguments=json.dumps(arguments)), arguments)
    )
    assert isinstance(result, ToolResult)
    if result.is_error:
        assert result.content


@settings(max_examples=40, deadline=None)
@given(
    arguments=st.dictionaries(
        st.sampled_from(["command", "timeout", "extra"]),
        st.one_of(
            JSON.filter(lambda v: not isinstance(v, str)), st.sampled_from(["true", "echo hi"])
        ),
        max_size=3,
    )
)
def test_any_arguments_to_bash_give_a_result_never_an_exception(tmp_path_factory, arguments):
    # Command strings are drawn from harmless ones only: this fuzzes shapes, not shell code.
    count("tool arguments")
    tools = BuiltinTools(project_dir=tmp_path_factory.getbasetemp(), bash_timeout=5)
    result = run(tools.call(ToolCall(id="c1", name="bash"), arguments))
    assert isinstance(result, ToolResult)


@FUZZ
@given(st.text())
def test_any_argument_text_decodes_to_an_object_or_says_why(raw):
    count("tool argument JSON")
    value, error = attempt(ValueError, ToolCall(id="c", name="t", arguments=raw).parsed_arguments)
    if error is not None:
        assert "JSON" in str(error)
    else:
        assert isinstance(value, dict)


def runner_for(model, tools, project: Path) -> SessionRunner:
    return SessionRunner(
        session=AgentSession(
            session_id="fuzz",
            project_dir=str(project),
            context=ConversationContext(system_prompt="", budget=200_000),
        ),
        settings=Settings(approval="yolo", max_iterations=6, circuit_breaker=0, tool_timeout=10),
        provider=model,
        tools=tools,
        journal=MemoryJournal(),
        clock=FakeClock(),
    )


async def two_messages(runner: SessionRunner) -> list[str]:
    """Send a fuzzed message, then a plain one; both must end (the session keeps working)."""
    runner.send("fuzzed call")
    await runner.wait_idle(BOUND)
    runner.send("plain")
    await runner.wait_idle(BOUND)
    await runner.aclose()
    return [m["state"] for m in runner.status()["messages"]]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    calls=st.lists(
        st.tuples(
            st.one_of(st.sampled_from(BUILTIN_NAMES), st.text(max_size=30)),
            st.one_of(st.text(max_size=40), JSON.map(json.dumps), huge_or(st.just("{}"))),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_a_model_sending_any_tool_calls_gets_errors_back_and_the_session_goes_on(
    tmp_path_factory, calls
):
    count("model tool calls")
    project = tmp_path_factory.getbasetemp() / "fuzz-session"
    project.mkdir(exist_ok=True)
    seen: list[str] = []

    def reply(request):
        if last_user(request) == "fuzzed call" and answered_tools(request) == 0:
            return [call(n, a, call_id=f"c{i}") for i, (n, a) in enumerate(calls)]
        seen.extend(m.content for m in request.messages if m.role == "tool")
        return text("ok")

    # Tools may quote a huge argument back; the loop cuts what the model gets.
    states = run(
        two_messages(runner_for(FunctionModel(reply), BuiltinTools(project_dir=project), project))
    )
    assert states == ["answered", "answered"]
    assert len(seen) >= len(calls)  # every call got a result back
    assert max(len(content) for content in seen) <= MAX_RESULT_CHARS + 100


# ── huge outputs, binary files, bytes that are not UTF-8 ──

FIFTY_MB = 50_000_000


class HugeTool:
    """A tool port that does not cap what it returns (like a careless third-party one)."""

    def specs(self):
        return (ToolSpec(name="huge", description="returns 50 MB", read_only=True),)

    async def call(self, call_, arguments):
        return ToolResult(call_id=call_.id, name=call_.name, content="é" * FIFTY_MB)


@pytest.mark.parametrize(
    ("tools_for", "name", "arguments"),
    [
        (lambda p: HugeTool(), "huge", {}),
        # 50 MB of random bytes: binary and not UTF-8.
        (
            lambda p: BuiltinTools(project_dir=p),
            "bash",
            {"command": f"head -c {FIFTY_MB} /dev/urandom"},
        ),
    ],
    ids=["uncapped tool", "bash binary"],
)  # fmt: skip
def test_a_50_mb_tool_output_reaches_the_model_cut_and_the_session_goes_on(
    tmp_path, tools_for, name, arguments
):
    sizes: list[int] = []

    def reply(request):
        if last_user(request) == "fuzzed call" and answered_tools(request) == 0:
            return [call(name, arguments)]
        sizes.extend(len(m.content) for m in request.messages if m.role == "tool")
        return text("ok")

    runner = runner_for(FunctionModel(reply), tools_for(tmp_path), tmp_path)
    journal = runner.journal
    assert run(two_messages(runner)) == ["answered", "answered"]
    assert sizes
    assert max(sizes) <= MAX_RESULT_CHARS + 100
    assert (
        max(len(json.dumps(r, ensure_ascii=False)) for r in journal.records) < 2 * MAX_RESULT_CHARS
    )
    report("bad input (50 MB outputs)", **{name: max(sizes)})


def test_binary_and_non_utf8_files_are_refused_or_skipped_with_a_reason(tmp_path):
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)))
    (tmp_path / "latin.txt").write_bytes("café crème\n".encode("latin-1"))
    (tmp_path / "good.txt").write_text("café crème\n")
    tools = BuiltinTools(project_dir=tmp_path)

    def use(name, **arguments):
        return run(
            tools.call(ToolCall(id="c", name=name, arguments=json.dumps(arguments)), arguments)
        )

    for path in ("image.png", "latin.txt"):
        for name, extra in (
            ("file_read", {}),
            ("file_edit", {"old_string": "caf", "new_string": "x"}),
        ):
            result = use(name, path=path, **extra)
            assert result.is_error, (name, path)
            assert "binary" in result.content or "UTF-8" in result.content
    assert (tmp_path / "latin.txt").read_bytes() == "café crème\n".encode("latin-1")
    found = use("search", pattern="cr")
    assert "good.txt" in found.content
    assert "image.png" not in found.content
    shell = use("bash", command="printf 'ok \\377\\376 end'")
    assert not shell.is_error
    assert "ok" in shell.content
    assert "end" in shell.content


def test_a_broken_config_file_or_journal_line_is_told_and_the_rest_works(tmp_path):
    home, project = tmp_path / "home", tmp_path / "project"
    (project / ".collet").mkdir(parents=True)
    (project / ".collet" / "config.toml").write_bytes(b'model = "\xff\xfe"\n')
    with pytest.raises(ConfigError, match=r"config\.toml"):
        load_settings(project_dir=project, env={"COLLET_HOME": str(home)})
    (project / ".collet" / "config.toml").unlink()
    (project / ".collet" / "mcp.json").write_bytes(b'{"mcpServers": {"x": \xff}}')
    journal = home / "sessions" / "old.jsonl"
    journal.parent.mkdir(parents=True)
    journal.write_bytes(b'{"kind":"session","session_id":"old"}\n\xff\xfe not json\n{"kind":"x"}\n')
    assert [r["kind"] for r in read_records(journal)] == ["session", "x"]

    async def main():
        hub = SessionHub(
            settings=lambda p: load_settings(project_dir=p, env={"COLLET_HOME": str(home)}),
            project_dir=project,
        )
        runner = hub.runner(ChannelId.new("jupyter", "fuzz.ipynb"))
        notices: list[str] = []
        runner.subscribe(lambda e: notices.append(e.text) if isinstance(e, Notice) else None)
        runner.send("hello")
        await runner.wait_idle(BOUND)
        states = [m["state"] for m in runner.status()["messages"]]
        await hub.aclose()
        return states, notices

    states, notices = run(main())
    assert states == ["answered"]
    assert any("mcp.json" in n for n in notices)


def test_a_lone_surrogate_from_a_tool_is_replaced_and_the_journal_still_writes(tmp_path):
    def reply(request):
        if answered_tools(request) == 0:
            return [call("echo", {"text": "bad \ud800 text"})]
        return text("ok")

    model = FunctionModel(reply)
    runner = runner_for(model, EchoTools(), tmp_path)
    runner.journal = JsonlJournal(tmp_path / "s.jsonl")
    assert run(two_messages(runner)) == ["answered", "answered"]
    results = {m.content for m in model.requests[-1].messages if m.role == "tool"}
    assert results == {"bad ? text"}
    # A record that does hold one (say, from the Python API) is stored and read back as is.
    journal = JsonlJournal(tmp_path / "t.jsonl")
    journal.append({"text": "lone \udfff here"}, durable=True)
    journal.close()
    assert read_records(tmp_path / "t.jsonl") == [{"text": "lone \udfff here"}]
