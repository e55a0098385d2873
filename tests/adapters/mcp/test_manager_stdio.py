"""The MCP manager against real stdio servers: mcp-server-time from PyPI and the in-repo one."""

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from collet_nb.adapters.mcp import ServerState
from collet_nb.errors import ConfigError, McpServerError
from tests.adapters.mcp.harness import (
    SERVER,
    TIME_SERVER,
    gone,
    group_members,
    make_manager,
    managing,
    recorded,
    run,
    stdio,
    use,
    wait_until,
)


def states(manager):
    return {s.name: s.state for s in manager.describe()}


def test_mcp_server_time_lists_its_tools_and_answers_a_call(tmp_path):
    async def scenario():
        async with managing(tmp_path, {"time": {"command": TIME_SERVER}}) as manager:
            assert manager.specs() == ()
            assert await manager.prepare() == ()
            specs = {s.name: s for s in manager.specs()}
            assert {"mcp__time__get_current_time", "mcp__time__convert_time"} <= set(specs)
            now = specs["mcp__time__get_current_time"]
            assert now.read_only  # annotated readOnlyHint: true
            assert "timezone" in now.parameters["properties"]
            assert now.description
            result = await use(manager, "mcp__time__get_current_time", timezone="UTC")
            assert not result.is_error
            assert '"timezone": "UTC"' in result.content
            assert (result.call_id, result.name) == ("call-1", "mcp__time__get_current_time")

    run(scenario())


def test_the_in_repo_server_answers_text_numbers_images_errors_env_and_cwd(tmp_path):
    (tmp_path / "work").mkdir()
    servers = {"t": stdio(env={"GREETING": "${WHO:-nobody}"}, cwd="work")}

    async def scenario():
        async with managing(tmp_path, servers, env={"WHO": "world"}) as manager:
            await manager.prepare()
            specs = {s.name: s for s in manager.specs()}
            assert specs["mcp__t__pid"].read_only
            assert not specs["mcp__t__echo"].read_only  # no annotation: not read-only
            assert specs["mcp__t__add"].parameters["required"] == ["a", "b"]
            assert (await use(manager, "mcp__t__echo", text="héllo")).content == "héllo"
            assert (await use(manager, "mcp__t__add", a=2, b=40)).content == "42"
            assert (await use(manager, "mcp__t__env", name="GREETING")).content == "world"
            assert (await use(manager, "mcp__t__cwd")).content == str(tmp_path / "work")
            picture = await use(manager, "mcp__t__picture")
            # The image travels apart from the text, as an image the model can look at.
            assert picture.content == "a pixel"
            (image,) = picture.images
            assert (image.mime, image.size, image.dimensions) == ("image/png", 66, (1, 1))
            assert image.source == "mcp__t__picture"
            failed = await use(manager, "mcp__t__fail", reason="testing")
            assert failed.is_error
            assert "failed on purpose: testing" in failed.content
            refused = await use(manager, "mcp__t__add", a="x", b=1)
            assert refused.is_error
            unknown = await use(manager, "mcp__t__nope")
            assert unknown.is_error
            assert "mcp__t__echo" in unknown.content

    run(scenario())


def test_the_registry_holds_each_servers_group_while_it_runs_and_loses_it_on_stop(tmp_path):
    registry, events = recorded()

    async def scenario():
        async with managing(tmp_path, {"a": stdio(), "b": stdio()}, processes=registry) as manager:
            await manager.prepare()
            pids = {s.name: s.pid for s in manager.describe()}
            assert registry.pgids() == set(pids.values())
            for name, pid in pids.items():
                # The pid is the server's own (exec kept it), and it leads its own group.
                assert (await use(manager, f"mcp__{name}__pid")).content == str(pid)
                assert os.getpgid(pid) == pid
        assert len(registry) == 0
        return pids

    pids = run(scenario())
    assert sorted(events) == sorted(
        [("add", p) for p in pids.values()] + [("remove", p) for p in pids.values()]
    )


def test_close_leaves_no_process_of_three_servers_alive_within_three_seconds(tmp_path):
    async def scenario():
        manager = make_manager(tmp_path, {n: stdio() for n in ("a", "b", "c")})
        await manager.prepare()
        pids = [s.pid for s in manager.describe()]
        assert all(pid is not None for pid in pids)
        await manager.aclose()
        await wait_until(lambda: not any(group_members(pid) for pid in pids), timeout=3.0)
        assert set(states(manager).values()) == {ServerState.STOPPED}
        await manager.aclose()  # idempotent
        assert await manager.prepare() == ()  # a closed manager starts nothing
        closed = await use(manager, "mcp__a__echo", text="x")
        assert closed.is_error

    run(scenario())


def test_close_also_kills_children_a_server_left_in_its_group(tmp_path):
    script = f'sleep 300 & exec "{sys.executable}" "{SERVER}" stdio'
    servers = {"parent": {"command": "/bin/bash", "args": ["-c", script]}}

    async def scenario():
        manager = make_manager(tmp_path, servers, kill_grace=0.5)
        await manager.prepare()
        pid = manager.describe()[0].pid
        assert len(group_members(pid)) == 2  # the server and its sleep
        await manager.aclose()
        await wait_until(lambda: gone(pid), timeout=3.0)

    run(scenario())


def test_a_server_that_crashes_mid_call_gives_an_error_result_and_is_restarted(tmp_path):
    async def scenario():
        async with managing(tmp_path, {"t": stdio()}) as manager:
            await manager.prepare()
            first = manager.describe()[0].pid
            crashed = await use(manager, "mcp__t__crash")
            assert crashed.is_error
            assert "died during a call to 'crash'" in crashed.content
            assert "crashing on request" in crashed.content  # its last stderr line
            status = manager.describe()[0]
            assert status.state is ServerState.FAILED
            assert "crashing on request" in status.last_error
            # The next turn's prepare and a call race to restart it: it starts once.
            prepared, echoed = await asyncio.gather(
                manager.prepare(), use(manager, "mcp__t__echo", text="raced")
            )
            assert (prepared, echoed.content) == ((), "raced")
            again = manager.describe()[0]
            assert again.state is ServerState.RUNNING
            assert again.pid != first
            assert again.last_error is None

    run(scenario())


def test_a_server_killed_while_idle_is_noticed_and_started_again_by_the_next_call(tmp_path):
    async def scenario():
        async with managing(tmp_path, {"t": stdio()}) as manager:
            await manager.prepare()
            pid = manager.describe()[0].pid
            os.kill(pid, signal.SIGKILL)
            await wait_until(lambda: manager.describe()[0].state is ServerState.FAILED)
            assert "exited while idle" in manager.describe()[0].last_error
            assert [s.name for s in manager.specs()]  # its tools stay offered
            assert (await use(manager, "mcp__t__echo", text="again")).content == "again"
            assert manager.describe()[0].pid not in (None, pid)

    run(scenario())


def test_a_bad_command_fails_clearly_and_the_other_servers_still_work(tmp_path):
    servers = {"bad": {"command": "no-such-mcp-server-xyz"}, "t": stdio()}

    async def scenario():
        async with managing(tmp_path, servers) as manager:
            errors = await manager.prepare()
            assert [e.server for e in errors] == ["bad"]
            assert "'no-such-mcp-server-xyz' was not found on PATH" in str(errors[0])
            assert "/mcp restart bad" in str(errors[0])
            bad, good = manager.describe()
            assert (bad.state, good.state) == (ServerState.FAILED, ServerState.RUNNING)
            assert bad.last_error == str(errors[0])
            assert (await use(manager, "mcp__t__echo", text="ok")).content == "ok"
            assert not [s for s in manager.specs() if s.name.startswith("mcp__bad__")]
            assert await manager.prepare() == ()  # not tried again on every turn
            with pytest.raises(McpServerError) as info:
                await manager.restart("bad")
            assert info.value.server == "bad"

    run(scenario())


def test_a_server_that_exits_at_start_shows_its_last_stderr_lines_with_secrets_hidden(tmp_path):
    servers = {"t": stdio("--stderr", "token is ${API_TOKEN}", "--fail-start")}

    async def scenario():
        async with managing(tmp_path, servers, env={"API_TOKEN": "tok-0123456789"}) as manager:
            (error,) = await manager.prepare()
            text = str(error)
            assert "exited during start-up" in text
            assert "TEST_TOKEN is not set" in text
            assert "token is ***" in text
            assert "tok-0123456789" not in text
            assert "mcp-t.log" in text
            assert "`command`, `args` and `env`" in text
            log = (tmp_path / "logs" / "mcp-t.log").read_text()
            assert "TEST_TOKEN is not set" in log  # the server's stderr went to its log

    run(scenario())


def test_a_failed_start_is_retried_by_prepare_once_the_retry_delay_passed(tmp_path):
    async def scenario():
        async with managing(tmp_path, {"t": stdio("--fail-start")}, retry_delay=0) as manager:
            assert len(await manager.prepare()) == 1
            assert len(await manager.prepare()) == 1  # tried again: the delay is 0

    run(scenario())


def test_a_server_that_never_answers_at_start_times_out_and_is_killed(tmp_path):
    registry, events = recorded()
    servers = {"slow": stdio("--hang-start")}

    async def scenario():
        async with managing(tmp_path, servers, processes=registry, start_timeout=1.0) as manager:
            (error,) = await manager.prepare()
            assert "did not finish starting within 1 s" in str(error)
            assert manager.describe()[0].state is ServerState.FAILED
            assert len(registry) == 0
            await wait_until(lambda: all(gone(pid) for _, pid in events), timeout=3.0)

    run(scenario())
    assert events  # its group was registered while it ran


def test_close_during_a_start_stops_the_start_at_once_and_leaves_no_process(tmp_path):
    registry, events = recorded()
    servers = {"slow": stdio("--hang-start")}

    async def scenario():
        manager = make_manager(tmp_path, servers, processes=registry, start_timeout=50)
        starting = asyncio.ensure_future(manager.prepare())
        await wait_until(lambda: bool(events))  # spawned and registered
        await manager.aclose()
        (error,) = await starting
        assert "was stopped" in str(error)
        assert manager.describe()[0].state is ServerState.STOPPED
        assert len(registry) == 0
        await wait_until(lambda: gone(events[0][1]), timeout=3.0)

    run(scenario(), timeout=20)


def test_concurrent_prepares_start_each_server_once(tmp_path):
    registry, events = recorded()

    async def scenario():
        async with managing(tmp_path, {"t": stdio()}, processes=registry) as manager:
            outcomes = await asyncio.gather(manager.prepare(), manager.prepare())
            assert outcomes == [(), ()]
            assert [event for event, _ in events] == ["add"]

    run(scenario())


def test_a_call_that_hangs_times_out_and_the_session_goes_on(tmp_path):
    async def scenario():
        async with managing(tmp_path, {"t": stdio()}, call_timeout=0.5) as manager:
            await manager.prepare()
            hung = await use(manager, "mcp__t__hang")
            assert hung.is_error
            assert "did not answer within 0.5 s" in hung.content
            assert manager.describe()[0].state is ServerState.RUNNING
            assert (await use(manager, "mcp__t__echo", text="still here")).content == "still here"

    run(scenario())


def test_cancelling_a_call_cancels_only_that_call(tmp_path):
    async def scenario():
        async with managing(tmp_path, {"t": stdio()}) as manager:
            await manager.prepare()
            hanging = asyncio.ensure_future(use(manager, "mcp__t__hang"))
            answered = await use(manager, "mcp__t__echo", text="meanwhile")  # concurrent
            assert answered.content == "meanwhile"
            hanging.cancel()
            with pytest.raises(asyncio.CancelledError):
                await hanging
            assert (await use(manager, "mcp__t__add", a=1, b=1)).content == "2"

    run(scenario())


def test_restart_gives_a_new_process_and_unknown_or_disabled_names_are_refused(tmp_path):
    servers = {"t": stdio(), "off": stdio(disabled=True)}

    async def scenario():
        async with managing(tmp_path, servers) as manager:
            await manager.prepare()
            assert states(manager) == {"t": ServerState.RUNNING, "off": ServerState.DISABLED}
            before = manager.describe()[0].pid
            status = await manager.restart("t")
            assert status.state is ServerState.RUNNING
            assert status.pid != before
            assert gone(before)
            with pytest.raises(ConfigError) as info:
                await manager.restart("nope")
            assert "t, off" in str(info.value)
            with pytest.raises(McpServerError, match="disabled"):
                await manager.restart("off")
            assert manager.describe()[1].state is ServerState.DISABLED

    run(scenario())


def test_prepare_starts_the_servers_concurrently(tmp_path):
    async def scenario():
        async with managing(tmp_path, {n: stdio() for n in ("a", "b", "c")}) as manager:
            started = asyncio.ensure_future(manager.prepare())
            # One after another, never more than one would be starting at a time.
            await wait_until(lambda: set(states(manager).values()) == {ServerState.STARTING})
            await started
            assert set(states(manager).values()) == {ServerState.RUNNING}

    run(scenario())


def test_importing_the_manager_does_not_import_mcp():
    code = "import sys, collet_nb.adapters.mcp; print('mcp' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"
