"""A real ipykernel driven by jupyter_client, for end-to-end tests.

``KernelHarness.execute`` runs a cell and returns its reply and outputs; every iopub message
is also kept in ``messages`` so tests can watch widget comm updates that arrive after a cell
went idle, and ``wait_for`` waits (bounded) for one.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parents[2]
# Older ipykernels that must keep working, installed by scripts/setup.sh (pip --target).
COMPAT = ROOT / ".venv" / "compat"
IPYKERNELS = ("current", "6.29")


def ipykernel_path(version: str) -> list[str]:
    """The PYTHONPATH entries that make the kernel import ipykernel ``version``."""
    if version == "current":
        return []
    folder = COMPAT / f"ipykernel-{version}"
    if not (folder / "ipykernel").is_dir():
        raise RuntimeError(f"ipykernel {version} is missing from {folder}: run scripts/setup.sh")
    return [str(folder)]


class KernelHarness:
    """One kernel, its client and everything it published."""

    def __init__(
        self, *, cwd: Path, env: dict[str, str] | None = None, ipykernel: str = "current"
    ) -> None:
        kernel_env = {
            **os.environ,
            "COLLET_DEMO_PACE": "0",
            "PYTHONPATH": os.pathsep.join([*ipykernel_path(ipykernel), str(ROOT)]),
            **(env or {}),
        }
        self.km = KernelManager(kernel_name="python3")
        self.km.kernel_cmd = None
        self.km.kernel_spec.argv[0] = sys.executable  # the test venv's interpreter
        self.km.start_kernel(cwd=str(cwd), env=kernel_env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        self.messages: list[dict[str, Any]] = []
        if ipykernel != "current":
            running = self.eval("__import__('ipykernel').__version__")
            assert running.startswith(ipykernel), f"asked for ipykernel {ipykernel}, got {running}"

    @property
    def pid(self) -> int:
        return self.km.provisioner.pid  # type: ignore[union-attr]

    def _pump(self, timeout: float) -> dict[str, Any] | None:
        try:
            msg = self.kc.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            return None
        self.messages.append(msg)
        return msg

    def execute(self, code: str, *, timeout: float = 60) -> tuple[dict[str, Any], list[Any]]:
        """Run ``code``; return (execute_reply content, [outputs of this cell])."""
        msg_id = self.kc.execute(code)
        deadline = time.monotonic() + timeout
        outputs: list[Any] = []
        while time.monotonic() < deadline:
            msg = self._pump(0.2)
            if msg is None or msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind in ("stream", "execute_result", "display_data", "error"):
                outputs.append(msg["content"])
            if kind == "status" and msg["content"]["execution_state"] == "idle":
                reply = self.kc.get_shell_msg(timeout=timeout)
                return reply["content"], outputs
        raise TimeoutError(f"cell did not finish in {timeout} s: {code[:60]!r}")

    def execute_all(
        self, cells: list[str], *, timeout: float = 60
    ) -> list[tuple[dict[str, Any], list[Any]]]:
        """Send every cell at once, as a front end's Run All does (no waiting between them);
        return each one's (execute_reply content, outputs), in the order sent.

        Raises:
            TimeoutError: naming the cells that got no reply within ``timeout``.
        """
        ids = [self.kc.execute(code) for code in cells]
        outputs: dict[str, list[Any]] = {i: [] for i in ids}
        replies: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        while len(replies) < len(ids) and time.monotonic() < deadline:
            while True:
                msg = self._pump(0.05)
                if msg is None:
                    break
                parent = msg["parent_header"].get("msg_id")
                if parent in outputs and msg["msg_type"] in (
                    "stream",
                    "execute_result",
                    "display_data",
                    "error",
                ):
                    outputs[parent].append(msg["content"])
            try:
                reply = self.kc.get_shell_msg(timeout=0.05)
            except queue.Empty:
                continue
            replies[reply["parent_header"]["msg_id"]] = reply["content"]
        missing = [cells[n][:40] for n, i in enumerate(ids) if i not in replies]
        if missing:
            raise TimeoutError(f"{len(missing)} of {len(ids)} cells got no reply: {missing}")
        # Outputs published before each reply's idle status: drain what is still in flight.
        self.wait_for(lambda: self.went(ids[-1], "idle"), timeout=5)
        return [(replies[i], outputs[i]) for i in ids]

    def went(self, msg_id: str, state: str) -> bool:
        """Whether the kernel published ``state`` (busy, idle) for request ``msg_id``."""
        return any(
            m["msg_type"] == "status"
            and m["parent_header"].get("msg_id") == msg_id
            and m["content"]["execution_state"] == state
            for m in self.messages
        )

    def text(self, outputs: list[Any]) -> str:
        """The stream text and text/plain of ``outputs``."""
        parts = []
        for out in outputs:
            if "text" in out:
                parts.append(out["text"])
            elif "data" in out and "text/plain" in out["data"]:
                parts.append(out["data"]["text/plain"])
            elif "ename" in out:
                parts.append(f"{out['ename']}: {out['evalue']}")
        return "".join(parts)

    def eval(self, expression: str) -> Any:
        """The value of ``expression`` in the kernel (via repr + literal_eval)."""
        import ast

        reply, outputs = self.execute(f"print(repr({expression}))")
        assert reply["status"] == "ok", self.text(outputs)
        return ast.literal_eval(self.text(outputs).strip())

    def wait_for(self, predicate: Callable[[], bool], *, timeout: float = 30) -> None:
        """Pump iopub until ``predicate()`` holds (bounded)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not met in time")
            self._pump(0.1)

    def comm_msgs(self) -> list[dict[str, Any]]:
        """Every comm_msg seen so far."""
        return [m for m in self.messages if m["msg_type"] == "comm_msg"]

    def shutdown(self) -> None:
        self.kc.stop_channels()
        if self.km.has_kernel:
            self.km.shutdown_kernel(now=False)


KERNEL_ENDS = ("shutdown", "restart", "sigterm", "sigkill")


def end_kernel(harness: KernelHarness, how: str) -> None:
    """End the kernel one of the ways a kernel ends (``KERNEL_ENDS``)."""
    if how == "shutdown":
        harness.km.shutdown_kernel(now=False)
    elif how == "restart":
        harness.km.restart_kernel(now=False)
    else:
        os.kill(harness.pid, signal.SIGTERM if how == "sigterm" else signal.SIGKILL)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (zombies count as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_dead(pids: list[int], timeout: float = 5.0) -> list[int]:
    """Wait until every pid is gone; return those still alive after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.05)
    return [p for p in pids if alive(p)]
