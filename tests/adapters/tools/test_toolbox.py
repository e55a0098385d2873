"""The toolbox: sources composed behind one ToolPort, MCP schemas deferred behind tool_search."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from collet_nb.adapters.tools.builtin import BuiltinTools
from collet_nb.adapters.tools.checkpoints import CheckpointingTools, CheckpointStore
from collet_nb.adapters.tools.toolbox import TOOL_SEARCH, Toolbox, is_mcp
from collet_nb.core.chat import ToolCall, ToolResult, ToolSpec
from collet_nb.core.context import ConversationContext
from collet_nb.core.events import ToolResultReady
from collet_nb.core.guard import Guard
from collet_nb.core.ports import ToolSource
from collet_nb.runtime.loop import AgentLoop
from tests.support.stand_ins import FunctionModel, answered_tools, call, string_tool, text


class Source:
    """A tool source whose tools a test changes at will; answers each call '<label>: <name>'."""

    def __init__(self, label: str, specs: Sequence[ToolSpec] = ()) -> None:
        self.label = label
        self.tools = list(specs)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def specs(self) -> Sequence[ToolSpec]:
        return tuple(self.tools)

    async def call(self, call: ToolCall, arguments: Mapping[str, Any]) -> ToolResult:
        self.calls.append((call.name, dict(arguments)))
        return ToolResult(call_id=call.id, name=call.name, content=f"{self.label}: {call.name}")


tool = string_tool


LOCAL = (
    tool("file_read", "Read a text file with numbered lines", path="File path"),
    tool("bash", "Run a shell command in the project directory", command="The command"),
    tool("skill", "Load a skill's instructions by name", name="The skill's name"),
)

MCP = (
    tool("mcp__time__get_current_time", "Get the current time in a timezone", timezone="IANA"),
    tool("mcp__time__convert_time", "Convert a time between timezones", time="HH:MM"),
    tool("mcp__git__git_status", "Shows the working tree status", repo_path="Repository"),
    tool("mcp__git__git_commit", "Records changes to the repository", message="Message"),
    tool("mcp__git__git_log", "Shows the commit logs", max_count="How many"),
    tool("mcp__git__git_create_branch", "Creates a new branch", branch_name="Name"),
    tool("mcp__github__create_issue", "Open an issue on GitHub", title="Title", body="Body"),
    tool("mcp__github__merge_pull_request", "Merge a pull request", pull_number="Number"),
    tool("mcp__slack__post_message", "Post a message to a Slack channel", channel_id="Channel"),
    tool("mcp__fetch__fetch", "Fetch a URL from the internet as markdown", url="URL"),
    tool("mcp__puppeteer__screenshot", "Take a screenshot of the page", selector="CSS"),
    tool("mcp__postgres__query", "Run a read-only SQL query", sql="Statement"),
)


def names(specs: Sequence[ToolSpec]) -> list[str]:
    return [s.name for s in specs]


def run(toolbox: Toolbox, name: str, **arguments: Any) -> ToolResult:
    return asyncio.run(toolbox.call(ToolCall(id="c1", name=name, arguments="{}"), arguments))


def deferring_box(extra: Sequence[ToolSpec] = ()) -> tuple[Toolbox, Source, Source]:
    local, mcp = Source("local", LOCAL), Source("mcp", (*MCP[:11], *extra))
    return Toolbox([local, mcp]), local, mcp


def test_with_ten_mcp_tools_or_fewer_every_tool_is_offered_and_there_is_no_tool_search():
    toolbox = Toolbox([Source("local", LOCAL), Source("mcp", MCP[:10])])
    assert names(toolbox.specs()) == names(LOCAL) + names(MCP[:10])
    assert not toolbox.deferring
    assert toolbox.focus("what time is it in Tokyo?") == ()


def test_above_ten_mcp_tools_their_schemas_leave_specs_and_tool_search_appears():
    toolbox, _, _ = deferring_box()
    offered = toolbox.specs()
    assert names(offered) == [*names(LOCAL), "tool_search"]
    assert toolbox.deferring
    assert TOOL_SEARCH.read_only


def test_the_threshold_is_a_constructor_parameter():
    toolbox = Toolbox([Source("mcp", MCP[:3])], defer_above=2)
    assert names(toolbox.specs()) == ["tool_search"]
    with pytest.raises(ValueError, match="defer_above"):
        Toolbox([], defer_above=-1)


def test_tool_search_returns_schemas_and_reveals_the_found_tools_in_the_next_specs():
    toolbox, _, _ = deferring_box()
    result = run(toolbox, "tool_search", query="current time in a timezone", limit=2)
    assert not result.is_error
    payload = json.loads(result.content)
    found = payload["tools"]
    assert [t["name"] for t in found] == ["mcp__time__get_current_time", "mcp__time__convert_time"]
    assert found[0]["parameters"] == MCP[0].parameters
    assert found[0]["description"] == MCP[0].description
    assert names(toolbox.specs()) == [
        *names(LOCAL),
        "tool_search",
        "mcp__time__get_current_time",
        "mcp__time__convert_time",
    ]
    assert toolbox.revealed == {"mcp__time__get_current_time", "mcp__time__convert_time"}


def test_tool_search_only_returns_deferred_tools_and_caps_the_limit():
    toolbox, _, mcp = deferring_box()
    mcp.tools += [tool(f"mcp__many__run_job_{n}", f"Run job number {n}") for n in range(30)]
    found = json.loads(run(toolbox, "tool_search", query="run a job", limit=500).content)["tools"]
    assert len(found) == 20
    assert all(t["name"].startswith("mcp__") for t in found)  # the local bash "runs" too
    default = json.loads(run(toolbox, "tool_search", query="run a job").content)["tools"]
    assert len(default) == 5


def test_tool_search_refuses_an_empty_query_or_bad_arguments():
    toolbox, _, _ = deferring_box()
    for arguments in ({"query": "the of"}, {"query": ""}, {}, {"query": "time", "limit": 0}):
        result = run(toolbox, "tool_search", **arguments)
        assert result.is_error, arguments
    assert toolbox.revealed == set()


def test_tool_search_says_so_when_nothing_matches():
    toolbox, _, _ = deferring_box()
    result = run(toolbox, "tool_search", query="zzzunheardof")
    assert not result.is_error
    assert "no tool matches" in result.content
    assert toolbox.revealed == set()


def test_calls_route_to_the_source_that_owns_the_tool():
    toolbox, local, mcp = deferring_box()
    assert run(toolbox, "bash", command="ls").content == "local: bash"
    assert run(toolbox, "mcp__git__git_log").content == "mcp: mcp__git__git_log"
    assert local.calls == [("bash", {"command": "ls"})]
    assert mcp.calls == [("mcp__git__git_log", {})]


def test_an_earlier_source_wins_a_name_clash():
    first = Source("first", [tool("bash", "Run a command")])
    second = Source("second", [tool("bash", "Another bash"), tool("extra", "An extra tool")])
    toolbox = Toolbox([first, second])
    assert [s.description for s in toolbox.specs()] == ["Run a command", "An extra tool"]
    assert run(toolbox, "bash").content == "first: bash"
    assert run(toolbox, "extra").content == "second: extra"


def test_a_source_s_own_tool_named_tool_search_is_ignored():
    toolbox = Toolbox([Source("odd", [tool("tool_search", "Not ours")]), Source("mcp", MCP)])
    assert [s for s in toolbox.specs() if s.name == "tool_search"] == [TOOL_SEARCH]


def test_an_unknown_tool_gets_an_error_naming_close_matches():
    toolbox, _, _ = deferring_box()
    result = run(toolbox, "mcp__git__git_logs")
    assert result.is_error
    assert "unknown tool 'mcp__git__git_logs'" in result.content
    assert "mcp__git__git_log" in result.content
    assert toolbox.suggest("git_logs")[0].startswith("mcp__git__")
    nothing = run(toolbox, "zzz")
    assert nothing.is_error
    assert "no tool has a similar name" in nothing.content


def test_focus_pre_attaches_the_message_s_top_deferred_tools_until_reset():
    toolbox, _, _ = deferring_box()
    attached = toolbox.focus("post a message to slack", k=1)
    assert names(attached) == ["mcp__slack__post_message"]
    assert names(toolbox.specs())[-1] == "mcp__slack__post_message"
    toolbox.focus("please commit my changes to the repository", k=1)
    # Tools are offered in the order they were revealed: the earlier list stays a prefix.
    assert names(toolbox.specs()) == [
        *names(LOCAL),
        "tool_search",
        "mcp__slack__post_message",
        "mcp__git__git_commit",
    ]
    toolbox.reset_focus()
    assert names(toolbox.specs()) == [*names(LOCAL), "tool_search"]
    assert toolbox.revealed == set()


def test_focus_never_attaches_local_tools_and_nothing_for_an_unrelated_message():
    toolbox, _, _ = deferring_box()
    assert all(is_mcp(s) for s in toolbox.focus("read a file and run a shell command", k=5))
    assert toolbox.focus("thanks!") == ()


def test_rank_orders_every_tool_for_the_tools_command():
    toolbox, _, _ = deferring_box()
    ranked = toolbox.rank("shell command")
    assert ranked[0][0].name == "bash"
    assert {s.name for s, _ in toolbox.rank("time", k=2)} == {
        "mcp__time__get_current_time",
        "mcp__time__convert_time",
    }
    assert len(toolbox.rank("the", k=2)) == 0


def test_the_index_is_rebuilt_when_the_tool_set_changes_and_only_then():
    local, mcp = Source("local", LOCAL), Source("mcp", ())
    toolbox = Toolbox([local, mcp])
    first = toolbox.index
    assert toolbox.index is first
    assert toolbox.rank("screenshot") == []
    mcp.tools.append(MCP[10])  # a server started
    assert [s.name for s, _ in toolbox.rank("screenshot")] == ["mcp__puppeteer__screenshot"]
    rebuilt = toolbox.index
    assert rebuilt is not first
    assert toolbox.index is rebuilt
    mcp.tools.clear()  # and died
    assert toolbox.rank("screenshot") == []


def test_a_server_starting_later_moves_its_tools_behind_tool_search_and_back():
    local, mcp = Source("local", LOCAL), Source("mcp", MCP[:4])
    toolbox = Toolbox([local, mcp])
    assert "mcp__git__git_status" in names(toolbox.specs())
    mcp.tools = list(MCP)
    assert names(toolbox.specs()) == [*names(LOCAL), "tool_search"]
    mcp.tools = list(MCP[:2])
    assert names(toolbox.specs()) == names(LOCAL) + names(MCP[:2])


class TupleSource(Source):
    """Returns the very same tuple until its tools change, as a caching MCP manager would."""

    def __init__(self, label: str, specs: Sequence[ToolSpec] = ()) -> None:
        super().__init__(label, specs)
        self.listing = tuple(specs)

    def specs(self) -> Sequence[ToolSpec]:
        return self.listing


def test_a_source_returning_the_same_tuple_keeps_its_tools_and_a_new_tuple_is_noticed():
    mcp = TupleSource("mcp", MCP)
    toolbox = Toolbox([TupleSource("local", LOCAL), mcp])
    first = toolbox.specs()
    catalog = toolbox.index
    assert toolbox.specs() == first
    toolbox.focus("take a screenshot", k=1)
    assert names(toolbox.specs()) == [*names(first), "mcp__puppeteer__screenshot"]
    assert toolbox.index is catalog
    mcp.listing = MCP[:3]
    assert names(toolbox.specs()) == names(LOCAL) + names(MCP[:3])
    assert run(toolbox, "mcp__postgres__query").is_error  # no longer anyone's tool


def test_a_revealed_tool_whose_server_stops_is_no_longer_offered():
    toolbox, _, mcp = deferring_box()
    toolbox.focus("take a screenshot", k=1)
    assert "mcp__puppeteer__screenshot" in names(toolbox.specs())
    mcp.tools = [t for t in mcp.tools if "puppeteer" not in t.name] + [MCP[11]]
    assert "mcp__puppeteer__screenshot" not in names(toolbox.specs())
    assert run(toolbox, "mcp__puppeteer__screenshot").is_error


def test_begin_turn_reaches_the_sources_that_have_it_and_find_reaches_through_wrappers(
    tmp_path: Path,
):
    builtin = BuiltinTools(project_dir=tmp_path)
    checkpointing = CheckpointingTools(builtin, CheckpointStore(tmp_path / "checkpoints"))
    toolbox = Toolbox([checkpointing, Source("mcp", MCP)])
    toolbox.begin_turn("m7")
    assert checkpointing.turn == "m7"
    assert toolbox.find(CheckpointingTools) is checkpointing
    assert toolbox.find(CheckpointStore) is None
    assert toolbox.find(BuiltinTools) is builtin
    found = toolbox.find(CheckpointingTools)
    assert found is not None
    assert found.store is checkpointing.store
    (tmp_path / "notes.txt").write_text("hello\n")
    assert "hello" in run(toolbox, "file_read", path="notes.txt").content


class Plain(Source):
    """A plain ToolPort (no ToolSource base) that defines some hooks by name."""

    def __init__(self) -> None:
        super().__init__("plain", LOCAL[:1])
        self.heard: list[str] = []

    def begin_turn(self, message_id: str) -> None:
        self.heard.append(f"begin {message_id}")

    async def prepare(self) -> list[str]:
        self.heard.append("prepare")
        return ["plain is ready"]

    def prompt_section(self) -> str:
        return "Plain tools read files."

    async def aclose(self) -> None:
        self.heard.append("aclose")


class Failing(ToolSource):
    """A source with only what a ToolSource must have, and a ``prepare`` that breaks."""

    def specs(self) -> Sequence[ToolSpec]:
        return LOCAL[1:2]

    async def call(self, call: ToolCall, arguments: Mapping[str, Any]) -> ToolResult:
        return ToolResult(call_id=call.id, name=call.name, content="ran")

    async def prepare(self) -> list[str]:
        raise RuntimeError("boom")


def test_a_plain_port_keeps_the_hooks_it_defines_and_a_tool_source_needs_none():
    plain, failing = Plain(), Failing()
    toolbox = Toolbox([plain, failing])
    toolbox.begin_turn("m3")
    notices = asyncio.run(toolbox.prepare())
    assert notices == ["plain is ready", "Failing failed to prepare: boom"]
    assert toolbox.prompt_section() == "Plain tools read files."
    asyncio.run(toolbox.aclose())
    assert plain.heard == ["begin m3", "prepare", "aclose"]
    assert toolbox.sources == (plain, failing)  # as given, not as wrapped
    assert toolbox.find(Plain) is plain
    assert run(toolbox, "bash").content == "ran"
    # The hooks a source leaves alone do nothing.
    assert failing.prompt_section() == ""
    assert failing.focus("anything") == ()
    assert failing.suggest("bsh") is None


def test_added_sources_are_used_after_the_earlier_ones():
    toolbox = Toolbox([Source("local", LOCAL)])
    toolbox.add(Source("mcp", MCP))
    assert toolbox.deferring
    assert len(toolbox.sources) == 2


def run_loop(toolbox: Toolbox, reply) -> tuple[AgentLoop, list[ToolResultReady]]:
    """One turn of the real agent loop over ``toolbox``; its tool results."""
    loop = AgentLoop(
        message_id="m1",
        user_text="what time is it?",
        context=ConversationContext(system_prompt="", budget=100_000),
        provider=FunctionModel(reply),
        model="function",
        tools=toolbox,
        guard=Guard(max_iterations=5, breaker_threshold=3),
    )

    async def main() -> list[ToolResultReady]:
        return [e async for e in loop.events() if isinstance(e, ToolResultReady)]

    return loop, asyncio.run(main())


def test_the_agent_loop_can_call_a_tool_that_tool_search_revealed():
    toolbox, _, mcp = deferring_box()

    def reply(request):
        offered = {t.name for t in request.tools}
        done = answered_tools(request)
        if done == 0:
            assert "mcp__time__get_current_time" not in offered
            return [call("tool_search", {"query": "current time timezone"}, call_id="s")]
        if done == 1:
            return [call("mcp__time__get_current_time", {"timezone": "Asia/Tokyo"}, call_id="t")]
        return text("It is noon in Tokyo.")

    loop, results = run_loop(toolbox, reply)
    assert [(r.name, r.is_error) for r in results] == [
        ("tool_search", False),
        ("mcp__time__get_current_time", False),
    ]
    assert mcp.calls == [("mcp__time__get_current_time", {"timezone": "Asia/Tokyo"})]
    assert loop.final_text == "It is noon in Tokyo."


def test_a_wrong_tool_name_among_many_names_the_closest_few_not_every_tool():
    many = [
        tool(f"mcp__files__tool_{i}", f"Does thing number {i}", arg="An argument")
        for i in range(40)
    ]
    toolbox = Toolbox([Source("local", LOCAL), Source("mcp", [*MCP, *many])], defer_above=100)

    def reply(request):
        if answered_tools(request) == 0:
            return [call("mcp__time__get_time", {"timezone": "UTC"}, call_id="t")]
        return text("done")

    _, (result,) = run_loop(toolbox, reply)
    assert result.is_error
    assert "the closest are: mcp__time__get_current_time" in result.content
    assert result.content.count("mcp__") <= 6  # the wrong name and at most five suggestions
