"""The bash tool: output, exit codes, caps, and that timeouts and cancellation kill the group."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from collet_nb.adapters.procs import ProcessRegistry
from collet_nb.adapters.tools import BuiltinTools, Limits
from collet_nb.core.chat import ToolCall

# The outer bash records its pid, starts a middle bash that backgrounds a grandchild sleep and
# records every pid, then sleeps: a tree of three generations in one process group.
TREE = (
    "echo $$ > child.pid; "
    "bash -c 'echo $$ > middle.pid; sleep 300 & echo $! > grandchild.pid; wait'"
)


def alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie nobody reaped (a container's PID 1 may not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except FileNotFoundError:
        return False
    return stat.rsplit(b")", 1)[-1].split()[0] not in (b"Z", b"X")


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def read_pids(project: Path, *names: str) -> list[int]:
    return [int((project / name).read_text()) for name in names]


@pytest.fixture
def tools(layout):
    return BuiltinTools(project_dir=layout.project, bash_timeout=30, kill_grace=0.5)


def test_bash_reports_output_and_the_exit_code(tools, run_tool):
    result = run_tool(tools, "bash", command="echo out; echo err >&2; exit 3")
    assert not result.is_error
    assert result.content == "out\nerr\n[exit code 3]"


def test_bash_runs_in_the_project_directory(layout, tools, run_tool):
    result = run_tool(tools, "bash", command="pwd")
    assert result.content.split("\n")[0] == str(layout.project)


def test_bash_gives_commands_an_empty_stdin(tools, run_tool):
    result = run_tool(tools, "bash", command="cat; echo done")
    assert result.content == "done\n[exit code 0]"


def test_bash_says_when_there_was_no_output(tools, run_tool):
    assert run_tool(tools, "bash", command="true").content == "(no output)\n[exit code 0]"


def test_bash_names_the_signal_that_killed_the_command(tools, run_tool):
    result = run_tool(tools, "bash", command="kill -9 $$")
    assert "[killed by signal SIGKILL]" in result.content


def test_bash_keeps_head_and_tail_of_long_output_with_a_note_of_what_was_cut(layout, run_tool):
    tools = BuiltinTools(project_dir=layout.project, limits=Limits(output_chars=1000))
    result = run_tool(tools, "bash", command="seq 1 500")
    assert result.content.startswith("1\n2\n3\n")
    assert "500\n[exit code 0]" in result.content
    assert "characters cut" in result.content
    assert len(result.content) < 1200


def test_bash_output_far_over_the_cap_is_cut_in_bounded_memory(layout, run_tool):
    tools = BuiltinTools(project_dir=layout.project, limits=Limits(output_chars=1000))
    result = run_tool(tools, "bash", command="seq 1 200000")
    assert result.content.startswith("1\n2\n3\n")
    assert result.content.endswith("200000\n[exit code 0]")
    assert "bytes of output cut" in result.content
    assert len(result.content) < 1200


def test_bash_timeout_kills_the_child_and_its_grandchildren(layout, tools, run_tool):
    result = run_tool(tools, "bash", command=TREE, timeout=1)
    assert result.is_error
    assert "timed out after 1 s" in result.content
    pids = read_pids(layout.project, "child.pid", "middle.pid", "grandchild.pid")
    assert wait_until(lambda: not any(alive(pid) for pid in pids))
    assert len(tools.processes) == 0


def test_bash_timeout_is_capped_by_the_default(layout, run_tool):
    tools = BuiltinTools(project_dir=layout.project, bash_timeout=0.5, kill_grace=0.5)
    result = run_tool(tools, "bash", command="sleep 300", timeout=1000)
    assert result.is_error
    assert "timed out after 0.5 s" in result.content


def test_bash_kills_a_group_that_ignores_sigterm_after_the_grace(layout, tools, run_tool):
    command = "trap '' TERM; sleep 300 & echo $! > grandchild.pid; wait"
    result = run_tool(tools, "bash", command=command, timeout=0.5)
    assert result.is_error
    (pid,) = read_pids(layout.project, "grandchild.pid")
    assert wait_until(lambda: not alive(pid))


def test_bash_stops_background_jobs_the_command_leaves_behind(layout, tools, run_tool):
    result = run_tool(tools, "bash", command="sleep 300 & echo $! > bg.pid; echo started")
    assert not result.is_error
    assert result.content.startswith("started\n")
    assert "background" in result.content
    assert "[exit code 0]" in result.content
    (pid,) = read_pids(layout.project, "bg.pid")
    assert wait_until(lambda: not alive(pid))


def test_cancelling_a_bash_call_kills_the_group_and_propagates(layout):
    registry = ProcessRegistry()
    events = []
    registry.add_listener(lambda event, pgid: events.append((event, pgid)))
    tools = BuiltinTools(project_dir=layout.project, processes=registry, kill_grace=0.5)
    grandchild = layout.project / "grandchild.pid"
    arguments = {"command": TREE}

    async def scenario():
        call = ToolCall(id="c", name="bash", arguments=json.dumps(arguments))
        task = asyncio.ensure_future(tools.call(call, arguments))
        for _ in range(500):  # bounded: at most 10 s
            if grandchild.exists() and grandchild.read_text().strip():
                break
            await asyncio.sleep(0.02)
        (child,) = read_pids(layout.project, "child.pid")
        assert child in registry
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return child

    child = asyncio.run(scenario())
    pids = read_pids(layout.project, "child.pid", "middle.pid", "grandchild.pid")
    assert wait_until(lambda: not any(alive(pid) for pid in pids))
    assert len(registry) == 0
    assert events == [("add", child), ("remove", child)]


def test_bash_refuses_a_timeout_that_is_not_positive(tools, run_tool):
    result = run_tool(tools, "bash", command="true", timeout=0)
    assert result.is_error
    assert "'timeout' must be greater than 0" in result.content
