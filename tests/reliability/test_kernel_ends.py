"""Kernel ends, cycled: start a kernel, load collet_nb, start a real MCP server and a long bash
tree, end the kernel one of four ways (graceful shutdown, restart, SIGTERM, SIGKILL: there the
watchdog reaps), and count the processes left behind. CI runs 8 cycles; ``--long`` runs 100.

Orphans are counted two ways: the pids the cycle started (MCP server, bash, its background
grandchild, the watchdog), and every process whose working directory is the cycle's project
(which also catches anything the cycle started without our knowing).
"""

import os
import signal
import time
from pathlib import Path

import pytest

from tests.kernel.test_lifecycle import configure_mcp, start_children
from tests.reliability.figures import report
from tests.support.kernel import (
    IPYKERNELS,
    KERNEL_ENDS,
    KernelHarness,
    alive,
    end_kernel,
    wait_dead,
)

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

WAYS = KERNEL_ENDS


def processes_in(folder: Path) -> list[int]:
    """Live processes whose working directory is ``folder`` or below it."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if (cwd == str(folder) or cwd.startswith(f"{folder}/")) and alive(int(entry)):
            found.append(int(entry))
    return found


def settle(folder: Path, timeout: float = 5.0) -> list[int]:
    """Wait (bounded) until no process works in ``folder``; return those still there."""
    deadline = time.monotonic() + timeout
    while (left := processes_in(folder)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_no_child_survives_a_hundred_kernel_ends(tmp_path, long_run):
    cycles = 100 if long_run else 8
    orphans: dict[str, int] = dict.fromkeys(WAYS, 0)
    started = 0
    began = time.monotonic()
    leftovers: list[int] = []
    try:
        for number in range(cycles):
            how = WAYS[number % len(WAYS)]
            ipykernel = IPYKERNELS[(number // len(WAYS)) % len(IPYKERNELS)]
            cwd = tmp_path / f"cycle{number}"
            cwd.mkdir()
            configure_mcp(cwd)
            harness = KernelHarness(
                cwd=cwd, env={"COLLET_HOME": str(tmp_path / "home")}, ipykernel=ipykernel
            )
            try:
                pids = start_children(harness, cwd)
                started += len(pids)
                end_kernel(harness, how)
                left = wait_dead(pids, timeout=5.0)
            finally:
                harness.shutdown()  # the restarted kernel too
            left = sorted({*left, *settle(cwd)})
            orphans[how] += len(left)
            leftovers += left
    finally:
        for pid in leftovers + processes_in(tmp_path):
            if alive(pid):  # never leave a process behind, even when the test fails
                os.kill(pid, signal.SIGKILL)
    report(
        "kernel ends",
        cycles=cycles,
        children_started=started,
        orphans_by_way=orphans,
        orphans=sum(orphans.values()),
        seconds=round(time.monotonic() - began, 1),
    )
    assert orphans == dict.fromkeys(WAYS, 0)
