"""The ``bash`` tool: one command in its own session, output capped, its whole group killed after.

A timeout, a cancellation or a background job left behind all end the same way: SIGTERM to the
command's process group, a short grace, SIGKILL; the child is always reaped.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import BinaryIO

from collet_nb.adapters.procs import ProcessRegistry, group_alive, signal_group
from collet_nb.adapters.tools.output import OutputBuffer
from collet_nb.core.chat import ToolSpec
from collet_nb.errors import ToolError

BASH = ToolSpec(
    name="bash",
    description=(
        "Run a command with /bin/bash -c in the project directory and return its output "
        "(stdout and stderr merged) and exit code. stdin is empty: commands cannot prompt. "
        "Long output keeps its head and tail. The command is killed, with everything it "
        "started, when it runs past the timeout; processes left running in the background "
        "are stopped when it ends."
    ),
    parameters={
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The bash command line to run."},
            "timeout": {
                "type": "number",
                "exclusiveMinimum": 0,
                "description": "Seconds before the command is killed (capped by the default).",
            },
        },
        "required": ["command"],
        "additionalProperties": False,
    },
    read_only=False,
)

_POLL_SECONDS = 0.02
# Output left in the pipe stays readable after the group is gone; this bounds the wait for it
# when a process that left the group (setsid) still holds the pipe open.
_DRAIN_SECONDS = 0.5
# After SIGKILL the kernel ends the child at once; this bound only guards against the absurd.
_REAP_SECONDS = 10.0


class _Collector(asyncio.Protocol):
    """Feeds the output pipe into a bounded buffer and tells when the pipe has closed."""

    def __init__(self, buffer: OutputBuffer, closed: asyncio.Future[None]) -> None:
        self._buffer = buffer
        self.closed = closed

    def data_received(self, data: bytes) -> None:
        self._buffer.feed(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def run_bash(
    command: str,
    *,
    cwd: Path,
    timeout: float,
    max_timeout: float,
    output_cap: int,
    processes: ProcessRegistry | None = None,
    grace: float = 2.0,
) -> str:
    """Run ``command`` and return its (capped) output followed by its exit status.

    Args:
        command: the command line for ``/bin/bash -c``.
        cwd: the working directory (the project directory).
        timeout: seconds before the process group is killed.
        max_timeout: the cap on ``timeout`` (named in the timeout message).
        output_cap: characters of output kept (head and tail).
        processes: where the command's process group is registered while it runs.
        grace: seconds between SIGTERM and SIGKILL.

    Raises:
        ToolError: when the command timed out (the message carries its output so far).
        OSError: when bash cannot be started.
        asyncio.CancelledError: after the process group was killed.
    """
    loop = asyncio.get_running_loop()
    proc, pipe = await _spawn(command, cwd)
    pgid = proc.pid  # a new session makes the child the leader of its own group
    if processes is not None:
        processes.add(pgid)
    buffer = OutputBuffer(output_cap)
    collector = _Collector(buffer, loop.create_future())
    transport: asyncio.BaseTransport | None = None
    timed_out = False
    leftovers = False
    try:
        transport, _ = await loop.connect_read_pipe(lambda: collector, pipe)
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            timed_out = True
    finally:
        # Reached on completion, timeout, cancellation and failure alike (an exception goes on
        # propagating once the group is gone).
        try:
            leftovers = await _stop_group(pgid, grace)
            await asyncio.wait_for(proc.wait(), _REAP_SECONDS)
            await asyncio.wait({collector.closed}, timeout=_DRAIN_SECONDS)
        except BaseException:
            # Cancelled again while stopping: do not wait for a grace, kill outright.
            signal_group(pgid, signal.SIGKILL)
            raise
        finally:
            if processes is not None:
                processes.discard(pgid)
            if transport is not None:
                transport.close()
            else:
                pipe.close()
    output = buffer.render().rstrip("\n") or "(no output)"
    if timed_out:
        raise ToolError(
            f"{output}\n[timed out after {timeout:g} s: the command and every process it "
            f"started were killed. The longest allowed is {max_timeout:g} s; run less at once, "
            "or a quicker variant]",
            tool="bash",
        )
    lines = [output]
    if leftovers:
        lines.append("[the command left processes running in the background; they were stopped]")
    code = proc.returncode
    if code is not None and code < 0:
        lines.append(f"[killed by signal {_signal_name(-code)}]")
    else:
        lines.append(f"[exit code {code}]")
    return "\n".join(lines)


async def _spawn(command: str, cwd: Path) -> tuple[asyncio.subprocess.Process, BinaryIO]:
    """Start bash in a new session writing stdout and stderr to a pipe; return it and the pipe."""
    # The tool owns the output pipe rather than asyncio's subprocess transport: Process.wait()
    # would then also wait for the pipe to close (which a background job holding it delays for
    # ever), and a pipe held by a process that escaped the group could never be closed.
    read_fd, write_fd = os.pipe()
    try:
        proc = await asyncio.create_subprocess_exec(
            "/bin/bash",
            "-c",
            command,
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=write_fd,
            stderr=write_fd,
            start_new_session=True,
        )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)  # the child has its copy; ours would keep the pipe open for ever
    return proc, os.fdopen(read_fd, "rb", buffering=0)


async def _stop_group(pgid: int, grace: float) -> bool:
    """SIGTERM the group, give it ``grace`` seconds, then SIGKILL; False if it was already empty."""
    if not group_alive(pgid) or not signal_group(pgid, signal.SIGTERM):
        return False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while group_alive(pgid):
        if loop.time() >= deadline:
            signal_group(pgid, signal.SIGKILL)
            break
        await asyncio.sleep(_POLL_SECONDS)
    return True


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)
