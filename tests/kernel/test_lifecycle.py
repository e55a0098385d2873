"""However the kernel ends, no child it started survives (checked by pid within 5 s)."""

import json
import os
import signal
import sys
import time

import pytest

from tests.adapters.mcp.harness import SERVER
from tests.support.kernel import (
    IPYKERNELS,
    KERNEL_ENDS,
    KernelHarness,
    alive,
    end_kernel,
    wait_dead,
)

pytestmark = pytest.mark.kernel

START_CHILDREN = r"""
%load_ext collet_nb
import asyncio
from pathlib import Path
from collet_nb.core.chat import ToolCall
from collet_nb.ui.extension import active
ext = active()
runner = ext.runner()
# A real MCP server (from .collet/mcp.json), started as a turn would start it.
mcp = asyncio.ensure_future(runner.tools.prepare())
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


def configure_mcp(cwd) -> None:
    (cwd / ".collet").mkdir()
    server = {"command": sys.executable, "args": [SERVER, "stdio"]}
    (cwd / ".collet" / "mcp.json").write_text(json.dumps({"mcpServers": {"demo": server}}))


def start_children(harness: KernelHarness, cwd) -> list[int]:
    reply, outputs = harness.execute(START_CHILDREN)
    assert reply["status"] == "ok", harness.text(outputs)
    deadline = time.monotonic() + 30
    while not (cwd / "grandchild.pid").exists() or not (cwd / "grandchild.pid").read_text():
        assert time.monotonic() < deadline, "bash did not start"
        time.sleep(0.05)
    harness.wait_for(lambda: harness.eval("mcp.done()"), timeout=30)
    assert harness.eval("[str(e) for e in mcp.result()]") == []  # the server is up
    pgids = set(harness.eval("sorted(ext.processes.pgids())"))
    assert len(pgids) == 2, pgids  # bash's group and the MCP server's
    watchdog = harness.eval("ext.watchdog.pid")
    pids = [*group_members(pgids), int((cwd / "grandchild.pid").read_text()), watchdog]
    # the MCP server, bash (which execs its last sleep), the background sleep, the watchdog
    assert len(set(pids)) >= 4, pids
    assert all(alive(p) for p in pids)
    return pids


@pytest.mark.parametrize("ipykernel", IPYKERNELS)
@pytest.mark.parametrize("how", KERNEL_ENDS)
def test_no_child_survives_the_kernel(tmp_path, how, ipykernel):
    configure_mcp(tmp_path)
    harness = KernelHarness(
        cwd=tmp_path, env={"COLLET_HOME": str(tmp_path / "home")}, ipykernel=ipykernel
    )
    pids: list[int] = []
    try:
        pids = start_children(harness, tmp_path)
        end_kernel(harness, how)
        assert wait_dead(pids, timeout=5.0) == []
    finally:
        harness.shutdown()
        for pid in pids:  # never leave a process behind, even when the test fails
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
