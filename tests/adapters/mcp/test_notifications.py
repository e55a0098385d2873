"""What MCP servers say on their own, against the in-repo server (a 2026-07-28 connection over
stdio, a 2025-11-25 one over HTTP with ``--handshake-only``): tool-list changes, log
notifications, progress, roots, and a lost HTTP session renewed once."""

import asyncio
from contextlib import asynccontextmanager

from collet_nb.adapters.mcp import ServerState
from collet_nb.adapters.mcp.manager import PROGRESS_INTERVAL
from collet_nb.adapters.mcp.transport import names_lost_session
from collet_nb.adapters.tools.toolbox import Toolbox
from collet_nb.core.chat import ToolCall
from collet_nb.core.events import Notice, ToolProgress
from collet_nb.core.kinds import WorkspaceScope
from tests.adapters.mcp.harness import (
    free_port,
    http_server,
    make_manager,
    managing,
    run,
    stdio,
    use,
    wait_until,
)


def listened(manager):
    events = []
    manager.listen(events.append)
    return events


@asynccontextmanager
async def watched(tmp_path, message_id):
    """The in-repo server with its extras, running, its events listened to in a turn."""
    async with managing(tmp_path, {"t": stdio("--extras")}) as manager:
        events = listened(manager)
        manager.begin_turn(message_id)
        await manager.prepare()
        yield manager, events


async def grow_and_call(manager, prefix):
    """Add tools at runtime; each must be offered and answer without a restart. (The second
    comes after the first was seen, so the change stream is surely open by then.)"""
    for tool in ("late", "later"):
        name = f"{prefix}{tool}"
        assert name not in {s.name for s in manager.specs()}
        before = manager.describe()[0].tools
        added = await use(manager, f"{prefix}grow", name=tool, text=f"{tool}!")
        assert added.content == f"added {tool}"
        await wait_until(lambda name=name: name in {s.name for s in manager.specs()})
        assert manager.describe()[0].tools == before + 1  # /mcp list is current
        assert (await use(manager, name)).content == f"{tool}!"


def test_a_tool_added_at_runtime_is_offered_and_callable_over_stdio(tmp_path):
    # Mutation: _on_message not relisting (drop its tg.start_soon) -> wait_until times out.
    async def scenario():
        async with managing(tmp_path, {"t": stdio("--extras")}) as manager:
            toolbox = Toolbox([manager], defer_above=100)
            await toolbox.prepare()
            assert "mcp__t__late" not in {s.name for s in toolbox.specs()}
            await grow_and_call(manager, "mcp__t__")
            # The next model request and /tools see it; the index finds it by its words.
            assert "mcp__t__late" in {s.name for s in toolbox.specs()}
            assert "mcp__t__later" in {s.name for s, _ in toolbox.rank("added at runtime")}

    run(scenario())


def test_a_tool_added_at_runtime_is_offered_over_a_handshake_era_http_session(tmp_path):
    async def scenario():
        with http_server(tmp_path / "http.log", None, "--handshake-only", "--extras") as (url, _):
            async with managing(tmp_path, {"web": {"url": url}}) as manager:
                assert await manager.prepare() == ()
                await grow_and_call(manager, "mcp__web__")

    run(scenario())


def test_an_http_server_that_restarts_gets_a_new_session_once_and_the_call_goes_through(
    tmp_path,
):
    # Mutation: _serve_call ignoring _session_lost -> the second echo is an error
    # ("Session not found") and the server is left failed.
    port = free_port()
    log = tmp_path / "http.log"

    async def scenario():
        with http_server(log, port, "--handshake-only", "--extras") as (url, proc):
            manager = make_manager(tmp_path, {"web": {"url": url}})
            events = listened(manager)
            manager.begin_turn("m1")
            try:
                await manager.prepare()
                assert (await use(manager, "mcp__web__echo", text="one")).content == "one"
                pid_before = (await use(manager, "mcp__web__pid")).content
            finally:
                proc.kill()
                proc.wait()
            with http_server(log, port, "--handshake-only", "--extras"):
                try:
                    again = await use(manager, "mcp__web__echo", text="two")
                    assert (again.content, again.is_error) == ("two", False)
                    assert (await use(manager, "mcp__web__pid")).content != pid_before
                    assert (await use(manager, "mcp__web__echo", text="3")).content == "3"
                    assert manager.describe()[0].state is ServerState.RUNNING
                finally:
                    await manager.aclose()
        notices = [e for e in events if isinstance(e, Notice)]
        assert len(notices) == 1  # said once
        assert notices[0].message_id == "m1"
        assert "'web' had forgotten this session" in notices[0].text

    run(scenario())


def test_the_answers_that_mean_a_lost_session():
    assert names_lost_session(404, b"")
    body = b'{"error":{"code":-32000,"message":"Bad Request: No valid session ID provided"}}'
    assert names_lost_session(400, body)
    assert not names_lost_session(400, b'{"error":{"message":"Invalid params"}}')
    assert not names_lost_session(500, body)


def test_log_notifications_go_to_the_log_file_and_warnings_to_the_user(tmp_path):
    # Mutation: _NOTICE_FROM at "error" -> no notice for the warning.
    async def scenario():
        async with watched(tmp_path, "m7") as (manager, events):
            await use(manager, "mcp__t__chatter", level="info", text="just so you know")
            await use(manager, "mcp__t__chatter", level="warning", text="disk nearly full")
            await wait_until(lambda: any(isinstance(e, Notice) for e in events))
            log = manager.describe()[0].log_path
        text = (tmp_path / "logs" / "mcp-t.log").read_text()
        assert log == str(tmp_path / "logs" / "mcp-t.log")
        assert "notifications/message [info] chatter: just so you know" in text
        assert "notifications/message [warning] chatter: disk nearly full" in text
        (notice,) = [e for e in events if isinstance(e, Notice)]
        assert notice.level == "warning"
        assert notice.message_id == "m7"
        assert "MCP server 't' logged warning: chatter: disk nearly full" in notice.text

    run(scenario())


def test_progress_reaches_the_listeners_for_the_running_call_at_most_five_a_second(tmp_path):
    # Mutation: no interval check in _ProgressRelay -> 40 events for the fast call.
    async def scenario():
        async with watched(tmp_path, "m2") as (manager, events):
            call = ToolCall(id="call-9", name="mcp__t__slow", arguments="{}")
            result = await manager.call(call, {"steps": 3, "delay": 0.25})
            assert result.content == "done 3"
            shown = [e for e in events if isinstance(e, ToolProgress)]
            assert [(e.progress, e.total, e.message) for e in shown] == [
                (1, 3, "step 1 of 3"), (2, 3, "step 2 of 3"), (3, 3, "step 3 of 3"),
            ]  # fmt: skip
            assert {(e.message_id, e.call_id, e.server) for e in shown} == {("m2", "call-9", "t")}
            events.clear()
            started = asyncio.get_running_loop().time()
            await manager.call(call, {"steps": 40, "delay": 0.01})
            seconds = asyncio.get_running_loop().time() - started
            fast = [e for e in events if isinstance(e, ToolProgress)]
            assert len(fast) <= seconds / PROGRESS_INTERVAL + 2
            assert fast[-1].progress == 40  # the last one always goes

    run(scenario())


def test_the_server_sees_the_workspace_folder_as_the_clients_root(tmp_path):
    # Mutation: no list_roots_callback given to Client -> the roots tool fails.
    project = tmp_path / "proj"
    project.mkdir()
    scope = [WorkspaceScope.PROJECT]

    async def scenario():
        manager = make_manager(tmp_path, {"t": stdio("--extras")})
        manager = type(manager)(
            {"t": manager.server("t").config},
            log_dir=tmp_path / "logs",
            project_dir=project,
            scope=lambda: scope[0],
        )
        try:
            await manager.prepare()
            assert (await use(manager, "mcp__t__roots")).content == project.as_uri()
            scope[0] = WorkspaceScope.WORKSPACE  # /workspace workspace
            await manager.prepare()
            assert (await use(manager, "mcp__t__roots")).content == tmp_path.as_uri()
        finally:
            await manager.aclose()

    run(scenario())
