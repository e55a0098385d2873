"""However the kernel ends, no child it started survives (checked by pid within 5 s)."""

import os
import signal
import time

import pytest

from tests.support.kernel import IPYKERNELS, KernelHarness, alive, wait_dead

pytestmark = pytest.mark.kernel

START_CHILDREN = r"""
%load_ext collet_nb
import asyncio, subprocess, sys
from pathlib import Path
from collet_nb.core.chat import ToolCall
from collet_nb.ui.extension import active
ext = active()
runner = ext.runner()
# An MCP-like stdio server: its own session, registered the way the MCP manager does.
server = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                          stdin=subprocess.PIPE, start_new_session=True)
ext.processes.add(server.pid)
# A bash tool call whose process tree outlives any reasonable wait.
job = asyncio.ensure_future(runner.tools.call(
    ToolCall(id="t1", name="bash"),
    {"command": "sleep 300 & echo $! > grandchild.pid; sleep 300"}))
"""


def group_members(pgids: set[int]) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(") ", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[2]) in pgids and fields[0] != "Z":
                members.append(int(entry))
    return members


def start_children(harness: KernelHarness, cwd) -> list[int]:
    reply, outputs = harness.execute(START_CHILDREN)
    assert reply["status"] == "ok", harness.text(outputs)
    deadline = time.monotonic() + 20
    while not (cwd / "grandchild.pid").exists() or not (cwd / "grandchild.pid").read_text():
        assert time.monotonic() < deadline, "bash did not start"
        time.sleep(0.05)
    pgids = set(harness.eval("sorted(ext.processes.pgids())"))
    watchdog = harness.eval("ext.watchdog.pid")
    pids = [*group_members(pgids), int((cwd / "grandchild.pid").read_text()), watchdog]
    # server, bash (which execs its last sleep), the background sleep, the watchdog
    assert len(set(pids)) >= 4, pids
    assert all(alive(p) for p in pids)
    return pids


@pytest.mark.parametrize("ipykernel", IPYKERNELS)
@pytest.mark.parametrize("how", ["shutdown", "restart", "sigterm", "sigkill"])
def test_no_child_survives_the_kernel(tmp_path, how, ipykernel):
    harness = KernelHarness(
        cwd=tmp_path, env={"COLLET_HOME": str(tmp_path / "home")}, ipykernel=ipykernel
    )
    pids: list[int] = []
    try:
        pids = start_children(harness, tmp_path)
        if how == "shutdown":
            harness.km.shutdown_kernel(now=False)
        elif how == "restart":
            harness.km.restart_kernel(now=False)
        else:
            os.kill(harness.pid, signal.SIGTERM if how == "sigterm" else signal.SIGKILL)
        assert wait_dead(pids, timeout=5.0) == []
    finally:
        harness.shutdown()
        for pid in pids:  # never leave a process behind, even when the test fails
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
