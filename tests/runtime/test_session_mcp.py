"""MCP servers in a session, through the hub: started for the first turn, their tools called by
the model, /mcp list and restart, a broken mcp.json told once while the session goes on, and
no server process left once the session is closed."""

import asyncio
import json
import sys

import pytest

from collet_nb.core.events import Notice, ToolResultReady
from collet_nb.errors import ConfigError
from tests.adapters.mcp.harness import SERVER, TIME_SERVER
from tests.runtime.test_hub import NB, command, make_hub
from tests.support.kernel import wait_dead
from tests.support.stand_ins import answered_tools, call, text


def configure(tmp_path, servers) -> None:
    folder = tmp_path / "project" / ".collet"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mcp.json").write_text(json.dumps({"mcpServers": servers}))


def test_the_models_calls_reach_real_mcp_servers_started_for_the_first_turn(tmp_path):
    configure(
        tmp_path,
        {
            "demo": {"command": sys.executable, "args": [SERVER, "stdio"]},
            "time": {"command": TIME_SERVER, "args": ["--local-timezone", "UTC"]},
        },
    )
    offered = []

    def reply(request):
        offered.append({t.name for t in request.tools})
        done = answered_tools(request)
        if done == 0:
            return [
                call("mcp__demo__echo", {"text": "ping"}, call_id="e"),
                call("mcp__time__get_current_time", {"timezone": "Asia/Tokyo"}, call_id="t"),
            ]
        return text("done")

    async def main():
        hub = make_hub(tmp_path, reply)
        runner = hub.runner(NB)
        events = []
        runner.subscribe(events.append)
        runner.send("echo ping, then tell me the current time in Tokyo")
        await runner.wait_idle(60)
        listing = command(hub, "/mcp list").text
        pgids = sorted(hub.processes.pgids())
        await hub.aclose()
        return events, listing, pgids, hub

    events, listing, pgids, hub = asyncio.run(main())
    # 12 MCP tools (> 10): their schemas wait behind tool_search, but the ones this message
    # calls for are pre-attached.
    assert {"mcp__demo__echo", "mcp__time__get_current_time", "file_read"} <= offered[0]
    assert "tool_search" in offered[0]
    assert "mcp__demo__crash" not in offered[0]
    results = {e.name: e for e in events if isinstance(e, ToolResultReady)}
    assert not results["mcp__demo__echo"].is_error
    assert "ping" in results["mcp__demo__echo"].content
    assert "Asia/Tokyo" in results["mcp__time__get_current_time"].content
    assert "demo: running" in listing
    assert "time: running" in listing
    assert len(pgids) == 2  # both stdio servers were registered for the kernel's kill paths
    assert wait_dead(pgids, 3.0) == []  # a stdio server's pid is its group id
    assert hub.processes.pgids() == set()


def test_a_broken_mcp_json_is_told_once_and_the_session_still_answers(tmp_path):
    folder = tmp_path / "project" / ".collet"
    folder.mkdir(parents=True)
    (folder / "mcp.json").write_text('{"mcpServers": {"git": {"command": 7}}')

    async def main():
        hub = make_hub(tmp_path)
        runner = hub.runner(NB)
        notices = []
        runner.subscribe(lambda e: notices.append(e) if isinstance(e, Notice) else None)
        for text_ in ("first", "second"):
            runner.send(text_)
            await runner.wait_idle(10)
        listing = command(hub, "/mcp").text
        states = [m["state"] for m in runner.status()["messages"]]
        await hub.aclose()
        return notices, listing, states

    notices, listing, states = asyncio.run(main())
    assert states == ["answered", "answered"]
    assert len(notices) == 1
    assert "mcp.json" in notices[0].text
    assert "MCP servers not started" in listing


def test_mcp_restart_brings_a_server_back_and_unknown_names_are_named(tmp_path):
    configure(tmp_path, {"demo": {"command": sys.executable, "args": [SERVER, "stdio"]}})

    async def main():
        hub = make_hub(tmp_path)
        runner = hub.runner(NB)
        runner.send("hello")
        await runner.wait_idle(60)
        restart = command(hub, "/mcp restart demo")
        assert restart.text == ""
        assert restart.later is not None  # the restart runs on the loop, awaited
        restarted = await restart.later()
        with pytest.raises(ConfigError) as unknown:
            command(hub, "/mcp restart nope")
        await hub.aclose()
        return restarted, unknown

    restarted, unknown = asyncio.run(main())
    assert restarted.startswith("demo: running")
    assert "demo" in str(unknown.value)  # the valid names
    assert "nope" in str(unknown.value)


def test_without_mcp_json_the_command_says_where_to_configure(tmp_path):
    async def main():
        hub = make_hub(tmp_path)
        out = command(hub, "/mcp list").text
        await hub.aclose()
        return out

    out = asyncio.run(main())
    assert "no MCP servers configured" in out
    assert ".collet/mcp.json" in out
