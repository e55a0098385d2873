"""A class policy (.collet/policy.toml) in force: the approval mode cannot be switched,
denied tools are neither offered nor run, allowed ones never ask, and a broken policy stops
the session from starting rather than lifting what it forbids."""

import asyncio

import pytest

from collet_nb.core.events import ApprovalRequested, ToolResultReady
from collet_nb.errors import ConfigError
from tests.runtime.test_hub import NB, command, make_hub
from tests.support.stand_ins import answered_tools, call, text


def write_policy(tmp_path, body: str) -> None:
    folder = tmp_path / "project" / ".collet"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "policy.toml").write_text(body)


def test_a_policy_fixes_the_mode_hides_denied_tools_and_lets_allowed_ones_run(tmp_path):
    write_policy(tmp_path, 'approval = "manual"\nallow = ["file_read"]\ndeny = ["bash"]\n')
    (tmp_path / "project" / "notes.txt").write_text("hello\n")
    offered = []

    def reply(request):
        offered.append({t.name for t in request.tools})
        if answered_tools(request) == 0:
            return [
                call("file_read", {"path": "notes.txt"}, call_id="r"),
                call("bash", {"command": "echo hi"}, call_id="b"),
            ]
        return text("done")

    async def main():
        hub = make_hub(tmp_path, reply, approval="yolo")  # the policy overrides the setting
        runner = hub.runner(NB)
        events = []
        runner.subscribe(events.append)
        runner.send("read my notes")
        await runner.wait_idle(10)
        with pytest.raises(ConfigError) as refused:
            command(hub, "/approval yolo")
        status = runner.status()
        await hub.aclose()
        return events, refused.value, status

    events, refused, status = asyncio.run(main())
    assert status["approval"] == "manual"
    assert "fixed to manual" in str(refused)
    assert "bash" not in offered[0]
    assert "file_read" in offered[0]
    assert not [e for e in events if isinstance(e, ApprovalRequested)]  # nothing asked
    results = {e.name: e for e in events if isinstance(e, ToolResultReady)}
    assert not results["file_read"].is_error
    assert "hello" in results["file_read"].content
    assert results["bash"].is_error  # called anyway: for the model, bash does not exist
    assert "unknown tool 'bash'" in results["bash"].content
    assert status["messages"][0]["state"] == "answered"


def test_a_broken_policy_keeps_the_session_from_starting_and_says_what_to_fix(tmp_path):
    write_policy(tmp_path, "deny = bash\n")

    async def main():
        hub = make_hub(tmp_path)
        with pytest.raises(ConfigError) as info:
            hub.runner(NB)
        await hub.aclose()
        return info.value

    error = asyncio.run(main())
    assert "policy.toml" in str(error)
    assert not (tmp_path / "home" / "sessions").exists()  # nothing was opened or accepted
