"""The watchdog: a tiny process, in its own session, that kills the kernel's child process
groups when the kernel dies for any reason (SIGKILL and OOM included).

The kernel writes ``+PGID`` / ``-PGID`` lines to the watchdog's stdin; when that pipe closes
(the kernel is gone, however it ended) the watchdog kills every group still listed and exits.
Run as ``python -m collet_nb.adapters.watchdog``; it imports nothing but the stdlib.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import IO

GRACE_SECONDS = 1.0


def _kill(pgids: set[int], grace: float) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pgid in tuple(pgids):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                pgids.discard(pgid)
            except PermissionError:
                pgids.discard(pgid)
        deadline = time.monotonic() + grace
        while pgids and time.monotonic() < deadline:
            time.sleep(0.02)
            for pgid in tuple(pgids):
                try:
                    os.killpg(pgid, 0)
                except (ProcessLookupError, PermissionError):
                    pgids.discard(pgid)


def watch(stream: IO[str], *, grace: float = GRACE_SECONDS) -> None:
    """Track ``+PGID``/``-PGID`` lines until EOF, then kill what is left."""
    pgids: set[int] = set()
    for raw in stream:
        line = raw.strip()
        if len(line) > 1 and line[0] in "+-" and line[1:].isdigit():
            pgid = int(line[1:])
            if pgid > 1:
                (pgids.add if line[0] == "+" else pgids.discard)(pgid)
    _kill(pgids, grace)


class Watchdog:
    """The kernel side: starts the watchdog on first use and feeds it registry changes.

    Use ``listener`` as a ProcessRegistry listener. ``close`` ends the watchdog cleanly (it
    kills nothing, since the kernel has stopped its children itself by then) and reaps it.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None

    @property
    def pid(self) -> int | None:
        """The watchdog's pid, once started."""
        return self._proc.pid if self._proc else None

    def listener(self, event: str, pgid: int) -> None:
        """Forward one registry change (starting the watchdog on the first one)."""
        if self._proc is None:
            # Own session: a kernel interrupt (SIGINT to the kernel's group) must not reach it.
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "collet_nb.adapters.watchdog"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                text=True,
                start_new_session=True,
            )
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(f"{'+' if event == 'add' else '-'}{pgid}\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            self._proc = None  # it died; the next change starts a new one

    def close(self, timeout: float = 3.0) -> None:
        """Close the pipe and reap the watchdog (idempotent)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout)
        except (subprocess.TimeoutExpired, BrokenPipeError):
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch(sys.stdin)
