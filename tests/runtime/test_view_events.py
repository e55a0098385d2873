"""What the views are told: one status per message (the same everywhere), previews of what a
call will do, decisions with their time, settings after commands, compact streaming."""

import asyncio
import json

from collet_nb.core.events import (
    ApprovalResolved,
    Event,
    MessageStatus,
    PlanResolved,
    SessionChanged,
    TextDelta,
    ToolCallStarted,
    ToolResultReady,
)
from collet_nb.runtime import loop as loop_module
from tests.runtime.test_hub import NB, command, make_hub
from tests.support.stand_ins import answered_tools, call, last_user, text


def one_call(name: str, arguments, *, answer: str = "done"):
    """A model that makes one tool call, then answers."""

    def reply(request):
        if answered_tools(request):
            return text(answer)
        return [call(name, arguments, call_id="c1")]

    return reply


def watched(hub):
    """This notebook's runner, and the list of every event it publishes from now on."""
    runner = hub.runner(NB)
    seen: list[Event] = []
    runner.subscribe(seen.append)
    return runner, seen


def statuses(seen: list[Event], message_id: str = "m1") -> list[str]:
    return [e.status for e in seen if isinstance(e, MessageStatus) and e.message_id == message_id]


def test_a_message_shows_awaiting_approval_while_its_call_waits_then_answered(tmp_path):
    async def main():
        hub = make_hub(tmp_path, reply=one_call("bash", {"command": "true"}), approval="auto")
        runner, seen = watched(hub)
        runner.send("go")
        await runner.wait_idle()
        waiting = runner.status()["messages"][0]["status"]
        runner.allow(by="button")
        await runner.wait_idle()
        await hub.aclose()
        return seen, waiting

    seen, waiting = asyncio.run(main())
    assert waiting == "awaiting_approval"
    assert statuses(seen) == ["queued", "running", "awaiting_approval", "running", "answered"]
    decided = next(e for e in seen if isinstance(e, ApprovalResolved))
    assert decided.by == "button"
    assert decided.at > 1_000_000_000  # a wall time the views show as local time


def test_an_architects_message_shows_awaiting_plan_until_the_plan_is_decided(tmp_path):
    async def main():
        hub = make_hub(tmp_path)
        runner, seen = watched(hub)
        runner.send("plan it", agent="architect")
        await runner.wait_idle()
        waiting = runner.status()["messages"][0]["status"]
        runner.approve_plan(by="sidebar")
        await runner.wait_idle()
        await hub.aclose()
        return seen, waiting

    seen, waiting = asyncio.run(main())
    assert waiting == "awaiting_plan"
    assert statuses(seen) == ["queued", "running", "awaiting_plan", "answered"]
    resolved = next(e for e in seen if isinstance(e, PlanResolved))
    assert (resolved.approved, resolved.by, resolved.follow_up) == (True, "sidebar", "m2")
    assert resolved.at > 0


def test_a_failed_message_says_which_message_retried_it(tmp_path):
    def reply(request):
        if last_user(request) == "flaky" and not getattr(reply, "failed", False):
            reply.failed = True
            raise RuntimeError("boom")
        return text("fine")

    async def main():
        hub = make_hub(tmp_path, reply=reply)
        runner, seen = watched(hub)
        runner.send("flaky")
        await runner.wait_idle()
        runner.retry()
        await runner.wait_idle()
        await hub.aclose()
        return seen

    seen = asyncio.run(main())
    last_m1 = [e for e in seen if isinstance(e, MessageStatus) and e.message_id == "m1"][-1]
    assert (last_m1.status, last_m1.retried_by) == ("failed", "m2")
    assert "boom" in (last_m1.error or "")
    assert statuses(seen, "m2")[-1] == "answered"


def write_call_preview(tmp_path, arguments) -> dict:
    async def main():
        hub = make_hub(tmp_path, reply=one_call("file_write", arguments), approval="yolo")
        runner, seen = watched(hub)
        runner.send("write")
        await runner.wait_idle()
        await hub.aclose()
        return next(e for e in seen if isinstance(e, ToolCallStarted)).preview

    return asyncio.run(main())


def test_a_write_preview_says_whether_it_creates_or_overwrites_and_shows_the_diff(tmp_path):
    created = write_call_preview(tmp_path, {"path": "notes.md", "content": "# A\nb\n"})
    assert created["kind"] == "file_write"
    assert (created["path"], created["exists"], created["language"]) == (
        "notes.md",
        False,
        "markdown",
    )
    assert (created["diff"], created["size"]) == ("", 6)

    overwrite = write_call_preview(tmp_path, {"path": "notes.md", "content": "# A\nc\n"})
    assert overwrite["exists"] is True
    assert "-b\n+c" in overwrite["diff"]
    assert overwrite["diff"].startswith("--- a/notes.md\n+++ b/notes.md")


def test_an_edit_preview_is_the_diff_it_would_make_or_why_it_will_fail(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text("x = 1\ny = 2\n")

    def preview_of(arguments) -> dict:
        async def main():
            hub = make_hub(tmp_path, reply=one_call("file_edit", arguments), approval="auto")
            runner = hub.runner(NB)
            seen: list[Event] = []
            runner.subscribe(seen.append)
            runner.send("edit")
            await runner.wait_idle()
            runner.deny(by="button")  # nothing is written: the preview came before
            await runner.wait_idle()
            await hub.aclose()
            return next(e for e in seen if isinstance(e, ToolCallStarted)).preview

        return asyncio.run(main())

    good = preview_of({"path": "app.py", "old_string": "y = 2", "new_string": "y = 3"})
    assert (good["kind"], good["language"], good["problem"]) == ("file_edit", "python", "")
    assert "-y = 2\n+y = 3" in good["diff"]
    assert (project / "app.py").read_text() == "x = 1\ny = 2\n"
    missing = preview_of({"path": "app.py", "old_string": "z = 9", "new_string": "z = 0"})
    assert missing["diff"] == ""
    assert "old_string was not found in app.py" in missing["problem"]


def test_bash_mcp_and_unparsable_calls_get_their_own_previews(tmp_path):
    from collet_nb.core.chat import ToolCall, ToolSpec
    from collet_nb.core.preview import GenericPreviewer

    previewer = GenericPreviewer(cwd="/proj", bash_timeout=120)
    bash = previewer.preview(ToolCall(id="a", name="bash", arguments='{"command": "ls"}'), None)
    assert bash == {"kind": "bash", "command": "ls", "cwd": "/proj", "timeout": 120.0}
    spec = ToolSpec(name="mcp__git__status", description="", read_only=True)
    mcp = previewer.preview(
        ToolCall(id="b", name="mcp__git__status", arguments='{"repo": "."}'), spec
    )
    assert mcp == {
        "kind": "mcp", "server": "git", "tool": "status", "read_only": True,
        "arguments": {"repo": "."},
    }  # fmt: skip
    broken = previewer.preview(ToolCall(id="c", name="bash", arguments="{oops"), None)
    assert broken == {"kind": "args", "arguments": "{oops"}


def test_the_journal_keeps_what_was_called_but_not_the_preview(tmp_path):
    write_call_preview(tmp_path, {"path": "n.txt", "content": "hello"})
    journal = next((tmp_path / "home" / "sessions").glob("*.jsonl"))
    events = [
        json.loads(line)["event"]
        for line in journal.read_text().splitlines()
        if json.loads(line).get("kind") == "event"
    ]
    started = next(e for e in events if e["type"] == "tool_call")
    assert started["name"] == "file_write"
    assert "preview" not in started


def test_a_tools_duration_leaves_out_the_time_spent_deciding(tmp_path, monkeypatch):
    now = [100.0]

    class Clock:
        @staticmethod
        def monotonic() -> float:
            return now[0]

    monkeypatch.setattr(loop_module, "time", Clock)

    async def main():
        hub = make_hub(tmp_path, reply=one_call("bash", {"command": "true"}), approval="auto")
        runner, seen = watched(hub)
        runner.send("go")
        await runner.wait_idle()
        now[0] += 600  # the person took ten minutes to click
        runner.allow(by="button")
        await runner.wait_idle()
        await hub.aclose()
        return next(e for e in seen if isinstance(e, ToolResultReady))

    result = asyncio.run(main())
    assert result.is_error is False
    assert result.duration_s == 0


def test_every_command_that_changes_a_setting_tells_the_views(tmp_path):
    async def main():
        hub = make_hub(tmp_path)
        _runner, seen = watched(hub)
        for line in ("/approval manual", "/stream compact", "/agent ask", "/model m2"):
            command(hub, line)
        command(hub, "/clear")
        await hub.aclose()
        return [e for e in seen if isinstance(e, SessionChanged)]

    changes = asyncio.run(main())
    assert len(changes) == 5
    last = changes[-1]
    assert (last.approval, last.streaming, last.agent, last.model) == (
        "manual", "compact", "ask", "m2"
    )  # fmt: skip
    assert last.message_id == ""


def test_compact_streaming_sends_a_replys_text_whole_at_the_end_of_its_step(tmp_path):
    async def main():
        hub = make_hub(tmp_path, reply=lambda r: text("one ", "two ", "three"))
        runner = hub.runner(NB)
        command(hub, "/stream compact")
        seen: list[Event] = []
        runner.subscribe(seen.append)
        runner.send("count")
        await runner.wait_idle()
        await hub.aclose()
        return [e.text for e in seen if isinstance(e, TextDelta)]

    assert asyncio.run(main()) == ["one two three"]
