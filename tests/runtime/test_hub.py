"""One session per notebook: open, evict, reopen from the journal, /new, /resume, commands."""

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import pytest

from collet_nb.adapters.skills import SkillTools
from collet_nb.adapters.tools.checkpoints import CheckpointingTools
from collet_nb.core.commands import parse_command
from collet_nb.core.kinds import ChannelId
from collet_nb.core.settings import Settings
from collet_nb.errors import ColletError, ConfigError, UsageError
from collet_nb.runtime.commands import CommandRunner
from collet_nb.runtime.hub import SessionHub
from tests.support.stand_ins import FunctionModel, answered_tools, call, last_user, text

NB = ChannelId.new("jupyter", "nb.ipynb")


def make_hub(tmp_path, reply=None, **settings) -> SessionHub:
    settings.setdefault("approval", "yolo")
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    return SessionHub(
        settings=lambda _p: Settings(home=str(tmp_path / "home"), **settings),
        project_dir=project,
        provider_factory=lambda s: FunctionModel(reply or (lambda r: text(f"re {last_user(r)}"))),
    )


def command(hub: SessionHub, line: str):
    return CommandRunner(hub, NB).run(parse_command(line))


def test_a_notebook_gets_one_session_that_is_reused(tmp_path):
    async def main():
        hub = make_hub(tmp_path)
        first = hub.runner(NB)
        assert hub.runner(NB) is first
        first.send("hi")
        await first.wait_idle()
        await hub.aclose()
        return first

    first = asyncio.run(main())
    assert first.status()["messages"][0]["state"] == "answered"


def test_an_evicted_session_reopens_from_its_journal_with_its_history(tmp_path):
    async def main():
        hub = make_hub(tmp_path, session_timeout=60)
        runner = hub.runner(NB)
        runner.send("remember the number 7")
        await runner.wait_idle()
        hub.clock = type(hub.clock)()
        runner.session.last_activity -= 61
        assert hub.evict_stale() == [NB]
        again = hub.runner(NB)
        assert again is not runner
        again.send("what was it?")
        await again.wait_idle()
        await hub.aclose()
        return runner, again

    runner, again = asyncio.run(main())
    assert again.session.session_id == runner.session.session_id
    assert [m["state"] for m in again.status()["messages"]] == ["answered", "answered"]
    contents = [m.content for m in again.session.context.messages]
    assert contents[:2] == ["remember the number 7", "re remember the number 7"]


CRASHING_KERNEL = """
import asyncio, sys
from pathlib import Path
from collet_nb.core.kinds import ChannelId
from collet_nb.core.settings import Settings
from collet_nb.runtime.hub import SessionHub
from tests.support.stand_ins import FunctionModel, text

async def main():
    home, project = sys.argv[1], Path(sys.argv[2])
    model = FunctionModel(lambda r: text("never"))
    model.gate = asyncio.Event()  # the first turn hangs until the process is killed
    hub = SessionHub(settings=lambda p: Settings(home=home), project_dir=project,
                     provider_factory=lambda s: model)
    runner = hub.runner(ChannelId.new("jupyter", "nb.ipynb"))
    runner.send("long job")
    runner.send("queued job")
    await asyncio.sleep(0.05)
    print(runner.session.session_id, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def test_a_message_interrupted_by_a_crash_comes_back_failed_and_retryable(tmp_path):
    (tmp_path / "project").mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHING_KERNEL, str(tmp_path / "home"), str(tmp_path / "project")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        sid = proc.stdout.readline().strip()
    finally:
        proc.kill()  # SIGKILL: nothing in the process gets to run
        proc.wait(timeout=10)
        proc.stdout.close()
    assert sid

    async def resume():
        hub = make_hub(tmp_path)
        notices = (
            hub.interrupted_notice(NB),
            hub.interrupted_notice(ChannelId.new("jupyter", "other.ipynb")),
        )
        runner = hub.resume(NB, sid[:8])
        states = [(m["text"], m["state"]) for m in runner.status()["messages"]]
        error = runner.status()["messages"][0]["error"]
        runner.retry()
        await runner.wait_idle()
        await hub.aclose()
        return states, error, runner, notices

    async def reload():
        hub = make_hub(tmp_path)
        notice = hub.interrupted_notice(NB)
        await hub.aclose()
        return notice

    states, error, runner, (notice, elsewhere) = asyncio.run(resume())
    assert notice is not None
    assert f"/resume {sid[:8]}" in notice
    assert "2 message(s)" in notice
    assert elsewhere is None  # another notebook's crash is not this one's business
    assert asyncio.run(reload()) is None  # resumed: nothing left interrupted
    assert states == [("long job", "failed"), ("queued job", "failed")]
    assert "/retry" in error
    assert runner.status()["messages"][-1]["state"] == "answered"


def test_new_starts_a_fresh_session_and_closes_the_old_one(tmp_path):
    async def main():
        hub = make_hub(tmp_path)
        old = hub.runner(NB)
        old.send("hello")
        await old.wait_idle()
        out = command(hub, "/new")
        fresh = hub.runner(NB)
        listing = command(hub, "/sessions").text
        await hub.aclose()
        return old, fresh, out.text, listing

    old, fresh, out, listing = asyncio.run(main())
    assert fresh is not old
    assert fresh.status()["messages"] == []
    assert out.startswith("new session")
    assert old.session.session_id[:8] in listing
    assert fresh.session.session_id[:8] in listing


def test_new_with_a_missing_directory_says_so(tmp_path):
    async def main():
        hub = make_hub(tmp_path)
        with pytest.raises(ConfigError, match="not a directory"):
            command(hub, f"/new {tmp_path / 'nope'}")
        await hub.aclose()

    asyncio.run(main())


def test_settings_commands_change_what_the_next_turn_uses(tmp_path):
    seen = []

    def reply(request):
        seen.append((request.model, len(request.tools)))
        return text("ok")

    async def main():
        hub = make_hub(tmp_path, reply=reply)
        runner = hub.runner(NB)
        assert command(hub, "/model small-model").text == "model small-model for the next messages"
        command(hub, "/agent ask")
        command(hub, "/approval manual")
        command(hub, "/workspace full")
        command(hub, "/stream compact")
        runner.send("hi")
        await runner.wait_idle()
        status = runner.status()
        await hub.aclose()
        return status

    status = asyncio.run(main())
    assert seen == [("small-model", 0)]
    assert (status["model"], status["agent"], status["approval"]) == (
        "small-model",
        "ask",
        "manual",
    )
    assert (status["workspace"], status["streaming"]) == ("full", "compact")


def test_status_queue_cost_and_save_plan_answer_in_plain_text(tmp_path):
    async def main():
        hub = make_hub(tmp_path, reply=lambda r: text("1. do it"))
        runner = hub.runner(NB)
        runner.send("plan it", agent="architect")
        await runner.wait_idle()
        out = {c: command(hub, c).text for c in ("/status", "/queue", "/cost", "/save-plan")}
        await hub.aclose()
        return out

    out = asyncio.run(main())
    assert "awaiting_plan" in out["/status"]
    assert "/approve" in out["/status"]
    assert out["/queue"] == "the queue is empty"
    assert "tokens: " in out["/cost"]
    assert out["/cost"].endswith("the demo provider costs nothing")
    saved = out["/save-plan"].removeprefix("plan saved to ")
    assert saved.startswith(str(tmp_path / "project" / "docs" / "plan" / "plan_"))
    assert Path(saved).read_text() == "1. do it\n"


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("/frobnicate", "/help"),
        ("/stream medium", "compact|full"),
        ("/approval", "yolo|auto|manual"),
        ("/allow forever", "[session]"),
        ("status", "starts with '/'"),
    ],
)
def test_bad_commands_get_one_line_naming_the_valid_choices(line, hint):
    with pytest.raises(ConfigError) as info:
        parse_command(line)
    assert hint in str(info.value)
    assert "\n" not in str(info.value)


def test_aliases_map_to_their_command():
    assert parse_command("/y looks good").name == "approve"
    assert parse_command("/y looks good").text == "looks good"
    assert parse_command("/stop").name == "cancel"
    assert parse_command("/cancel-plan").name == "reject"
    assert parse_command("/STREAM Full").args == ("full",)


def test_a_sessions_tool_parts_are_typed_and_leave_with_it(tmp_path):
    async def main():
        hub = make_hub(tmp_path)
        runner = hub.runner(NB)
        parts = hub.parts(runner)
        fresh = hub.new(NB)
        with pytest.raises(KeyError):
            hub.parts(runner)  # replaced by /new: its parts went with it
        again = hub.parts(fresh)
        await hub.aclose()
        return runner, parts, again

    runner, parts, again = asyncio.run(main())
    assert parts.toolbox is runner.tools
    assert parts.toolbox.find(SkillTools) is parts.skills
    assert parts.toolbox.find(CheckpointingTools).store is parts.checkpoints
    assert parts.mcp is None  # no mcp.json
    assert again.toolbox is not parts.toolbox


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("/retry", "nothing to retry: no failed message is waiting"),
        ("/approve", "no plan is waiting; send a message with `--agent architect` to get one"),
        ("/allow", "no tool call is waiting for approval"),
        ("/remove m9", "message m9 is not in the queue"),
        ("/rewind", "no checkpoints: the agent has not changed any file yet"),
        ("/save-plan", "no plan to save; send a message with `--agent architect` first"),
    ],
)
def test_a_command_the_sessions_state_does_not_allow_is_a_usage_error(tmp_path, line, said):
    async def main():
        hub = make_hub(tmp_path)
        try:
            with pytest.raises(UsageError) as info:
                command(hub, line)
        finally:
            await hub.aclose()
        return info.value

    error = asyncio.run(main())
    # The notebook shows any ColletError as its message alone: the same one line as before.
    assert isinstance(error, ColletError)
    assert not isinstance(error, ConfigError)
    assert str(error) == said


def test_remove_takes_one_queued_message_out_and_says_which(tmp_path):
    async def main():
        hub = make_hub(tmp_path)
        runner = hub.runner(NB)
        runner.provider.gate = asyncio.Event()
        runner.send("first")
        runner.send("second")
        await asyncio.sleep(0)  # the first one starts running
        out = [command(hub, "/remove m2").text, command(hub, "/remove m1").text]
        out.append(command(hub, "/remove m2").text)
        with pytest.raises(UsageError, match="not in the queue"):
            command(hub, "/remove m9")
        runner.provider.gate.set()
        await runner.wait_idle()
        await hub.aclose()
        return out, [m["state"] for m in runner.status()["messages"]]

    out, states = asyncio.run(main())
    assert out == [
        "removed m2 from the queue",
        "nothing to remove: m1 is running already",
        "nothing to remove: m2 is cancelled already (removed from the queue by the user)",
    ]
    assert states == ["answered", "cancelled"]


def _writes_once(request) -> list:
    """A model that asks to write a file once, then answers."""
    if answered_tools(request):
        return text("written")
    return [call("file_write", {"path": "a.txt", "content": "x"}, call_id="w1")]


def test_a_command_that_finds_a_decision_made_says_who_made_it_in_one_calm_line(tmp_path):
    async def main():
        hub = make_hub(tmp_path, reply=_writes_once, approval="auto")
        runner = hub.runner(NB)
        with pytest.raises(UsageError, match="no tool call is waiting"):
            command(hub, "/allow")  # nothing was ever decided: a mistake, said as one
        runner.send("write it")
        await runner.wait_idle()
        runner.allow(by="button")  # a person clicked before the headless command ran
        await runner.wait_idle()
        said = [command(hub, line).text for line in ("/allow", "/deny no")]
        await hub.aclose()
        return said, runner.status()["messages"][0]["state"]

    said, state = asyncio.run(main())
    assert state == "answered"
    for line in said:
        assert re.fullmatch(
            r"nothing waits: m1's file_write was allowed once by button at \d\d:\d\d", line
        )


def test_approve_after_the_sidebar_rejected_the_plan_says_so_and_runs_nothing(tmp_path):
    async def main():
        hub = make_hub(tmp_path)
        runner = hub.runner(NB)
        runner.send("plan it", agent="architect")
        await runner.wait_idle()
        runner.reject_plan("not now", by="sidebar")
        said = command(hub, "/approve").text
        await runner.wait_idle()
        await hub.aclose()
        return said, [m["id"] for m in runner.status()["messages"]]

    said, ids = asyncio.run(main())
    assert said.startswith("nothing waits: m1's plan was rejected by sidebar at ")
    assert ids == ["m1"]
