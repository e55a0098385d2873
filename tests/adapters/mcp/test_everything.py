"""The MCP manager against ``@modelcontextprotocol/server-everything`` from npm (a 2025-11-25
server built on the TypeScript SDK), over stdio and Streamable HTTP."""

import base64
import json

from collet_nb.adapters.mcp import ServerState
from collet_nb.adapters.mcp.catalog import Catalog, McpTool
from collet_nb.adapters.tools.toolbox import Toolbox
from collet_nb.core.chat import ToolCall
from collet_nb.core.events import Notice, ToolProgress
from tests.adapters.mcp.harness import (
    everything_stdio,
    free_port,
    http_server,
    make_manager,
    managing,
    run,
    use,
    wait_until,
)

ROOTS_TOOL = "mcp__everything__get-roots-list"


def names(manager):
    return {spec.name for spec in manager.specs()}


def test_tools_it_registers_after_the_handshake_arrive_and_it_sees_the_roots(tmp_path):
    # get-roots-list is registered after `initialized`, only for clients declaring roots, and
    # announced with tools/list_changed (our first listing may or may not see it yet).
    # Mutation: no list_roots_callback -> it never appears.
    async def scenario():
        async with managing(tmp_path, {"everything": everything_stdio()}) as manager:
            assert await manager.prepare() == ()
            await wait_until(lambda: ROOTS_TOOL in names(manager), timeout=10)
            assert manager.describe()[0].tools == len(manager.specs())
            seen = await use(manager, ROOTS_TOOL)
            assert not seen.is_error, seen.content
            assert tmp_path.resolve().as_uri() in seen.content

    run(scenario())


def test_a_tool_that_requires_tasks_is_not_offered_and_mcp_list_says_why(tmp_path):
    # Mutation: Catalog not skipping needs_task -> simulate-research-query is offered.
    async def scenario():
        async with managing(tmp_path, {"everything": everything_stdio()}) as manager:
            await manager.prepare()
            assert "mcp__everything__simulate-research-query" not in names(manager)
            assert "mcp__everything__get-sum" in names(manager)
            (note,) = manager.describe()[0].not_offered
            assert note.startswith("simulate-research-query: not offered")
            assert "taskSupport: required" in note

    run(scenario())


def test_catalog_leaves_out_tools_that_need_tasks():
    catalog = Catalog({"s": [McpTool(name="a"), McpTool(name="b", needs_task=True)]})
    assert [spec.name for spec in catalog.specs] == ["mcp__s__a"]
    assert catalog.resolve("mcp__s__b") is None


def test_its_long_running_operation_shows_progress(tmp_path):
    async def scenario():
        async with managing(tmp_path, {"everything": everything_stdio()}) as manager:
            events = []
            manager.listen(events.append)
            manager.begin_turn("m1")
            await manager.prepare()
            call = ToolCall(id="c1", name="mcp__everything__trigger-long-running-operation",
                            arguments="{}")  # fmt: skip
            result = await manager.call(call, {"duration": 0.9, "steps": 3})
            assert "completed" in result.content
            shown = [(e.call_id, e.server, e.progress, e.total) for e in events
                     if isinstance(e, ToolProgress)]  # fmt: skip
            assert shown == [("c1", "everything", p, 3) for p in (1, 2, 3)]

    run(scenario())


def test_its_simulated_logging_lands_in_the_servers_log_file(tmp_path):
    async def scenario():
        async with managing(tmp_path, {"everything": everything_stdio()}) as manager:
            events = []
            manager.listen(events.append)
            await manager.prepare()
            log = tmp_path / "logs" / "mcp-everything.log"
            await use(manager, "mcp__everything__toggle-simulated-logging")
            # One message at once, at a random level; warnings and worse also become notices.
            await wait_until(lambda: "notifications/message [" in log.read_text(), timeout=10)
            line = next(x for x in log.read_text().splitlines() if "notifications/message" in x)
            level = line.split("[", 1)[1].split("]", 1)[0]
            told = [e for e in events if isinstance(e, Notice)]
            serious = level in ("warning", "error", "critical", "alert", "emergency")
            assert len(told) == (1 if serious else 0), (level, told)

    run(scenario())


def test_a_tool_the_model_called_stays_offered_in_later_messages(tmp_path):
    # Mutation: Toolbox.call not recording called MCP tools -> get-sum is gone after
    # reset_focus.
    async def scenario():
        async with managing(tmp_path, {"everything": everything_stdio()}) as manager:
            toolbox = Toolbox([manager])
            await toolbox.prepare()
            assert toolbox.deferring  # more than 10 MCP tools
            found = await toolbox.call(
                ToolCall(id="s", name="tool_search", arguments="{}"), {"query": "sum numbers"}
            )
            assert "mcp__everything__get-sum" in json.loads(found.content)["tools"][0]["name"]
            offered = {s.name for s in toolbox.specs()}
            assert "mcp__everything__get-sum" in offered
            assert "mcp__everything__echo" not in offered
            call = ToolCall(id="c", name="mcp__everything__get-sum", arguments="{}")
            assert "3" in (await toolbox.call(call, {"a": 1, "b": 2})).content
            toolbox.reset_focus()  # the next user message
            toolbox.focus("hello")
            assert "mcp__everything__get-sum" in {s.name for s in toolbox.specs()}

    run(scenario())


def test_its_http_server_restarting_gets_a_new_session_once(tmp_path):
    # Its transport answers a forgotten session with HTTP 400 "No valid session ID provided".
    # Mutation: http_transport without the response hook -> MCP error -32603 on the call.
    port = free_port()
    log = tmp_path / "everything-http.log"

    async def scenario():
        with http_server(log, port, everything=True) as (url, proc):
            manager = make_manager(tmp_path, {"everything": {"url": url}})
            events = []
            manager.listen(events.append)
            try:
                await manager.prepare()
                first = await use(manager, "mcp__everything__echo", message="one")
                assert "one" in first.content
            finally:
                proc.kill()
                proc.wait()
            with http_server(log, port, everything=True):
                try:
                    again = await use(manager, "mcp__everything__echo", message="two")
                    assert not again.is_error, again.content
                    assert "two" in again.content
                    assert manager.describe()[0].state is ServerState.RUNNING
                finally:
                    await manager.aclose()
        assert len([e for e in events if isinstance(e, Notice)]) == 1

    run(scenario())


def test_its_tiny_image_comes_back_as_an_image_not_a_placeholder(tmp_path):
    # Mutation: MCP results without images (result_images returning ()) -> no image here.
    async def scenario():
        async with managing(tmp_path, {"everything": everything_stdio()}) as manager:
            await manager.prepare()
            result = await use(manager, "mcp__everything__get-tiny-image")
            assert not result.is_error
            (image,) = result.images
            assert image.mime == "image/png"
            assert image.sendable
            assert image.dimensions is not None
            assert base64.b64decode(image.data).startswith(b"\x89PNG")
            assert image.data not in result.content  # the text keeps only the words
            assert "[image" not in result.content

    run(scenario())


def test_mcp_list_says_which_tool_is_not_offered_because_it_requires_tasks(tmp_path):
    # Mutation: _server_line dropping status.not_offered -> the line does not say it.
    from tests.runtime.test_hub import NB, command, make_hub

    folder = tmp_path / "project" / ".collet"
    folder.mkdir(parents=True)
    (folder / "mcp.json").write_text(json.dumps({"mcpServers": {"everything": everything_stdio()}}))

    async def main():
        hub = make_hub(tmp_path)
        hub.runner(NB)
        restarted = await command(hub, "/mcp restart everything").later()
        listed = command(hub, "/mcp list").text
        await hub.aclose()
        return restarted, listed

    restarted, listed = run(main())
    for said in (restarted, listed):
        assert said.startswith("everything: running · stdio ")
        assert (
            "\n    simulate-research-query: not offered: it runs only as an MCP task "
            "(taskSupport: required), which collet_nb does not support"
        ) in said
