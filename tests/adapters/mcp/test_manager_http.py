"""The MCP manager against the in-repo server over Streamable HTTP on loopback."""

import pytest

from collet_nb.adapters.mcp import ServerState
from tests.adapters.mcp.harness import (
    free_port,
    http_server,
    make_manager,
    managing,
    run,
    stdio,
    stop_process,
    use,
)


@pytest.fixture
def server(tmp_path):
    with http_server(tmp_path / "http-server.log") as (url, proc):
        yield url, proc


def test_an_http_server_lists_tools_answers_calls_and_gets_the_configured_headers(tmp_path, server):
    url, _ = server
    servers = {"web": {"url": url, "headers": {"X-Team": "${TEAM}"}}}

    async def scenario():
        async with managing(tmp_path, servers, env={"TEAM": "blue-42"}) as manager:
            assert await manager.prepare() == ()
            status = manager.describe()[0]
            assert (status.state, status.transport, status.pid) == (
                ServerState.RUNNING, "http", None,
            )  # fmt: skip
            assert status.tools == len(manager.specs())
            assert (await use(manager, "mcp__web__add", a=20, b=22)).content == "42"
            assert (await use(manager, "mcp__web__header", name="X-Team")).content == "blue-42"
            assert (await use(manager, "mcp__web__fail", reason="r")).is_error
        assert manager.describe()[0].state is ServerState.STOPPED

    run(scenario())


def test_an_unreachable_url_fails_with_what_to_check_and_stdio_servers_still_work(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/mcp"
    servers = {"web": {"url": url, "headers": {"Authorization": "Bearer ${TOKEN}"}}, "t": stdio()}

    async def scenario():
        async with managing(tmp_path, servers, env={"TOKEN": "sekrit-token-1"}) as manager:
            (error,) = await manager.prepare()
            assert error.server == "web"
            text = str(error)
            assert f"could not be reached at {url}" in text
            assert "Check that it is running" in text
            assert "sekrit-token-1" not in text
            assert (await use(manager, "mcp__t__echo", text="fine")).content == "fine"

    run(scenario())


def test_an_http_server_that_goes_away_fails_the_call_and_is_reconnected_when_back(tmp_path):
    port = free_port()
    log = tmp_path / "http-server.log"

    async def scenario():
        with http_server(log, port) as (url, proc):
            manager = make_manager(tmp_path, {"web": {"url": url}})
            await manager.prepare()
            assert (await use(manager, "mcp__web__echo", text="one")).content == "one"
            stop_process(proc)
            lost = await use(manager, "mcp__web__echo", text="two")
            assert lost.is_error
            assert "'web'" in lost.content
            assert manager.describe()[0].state is ServerState.FAILED
        try:
            with http_server(log, port):
                assert await manager.prepare() == ()
                assert (await use(manager, "mcp__web__echo", text="three")).content == "three"
        finally:
            await manager.aclose()

    run(scenario())
