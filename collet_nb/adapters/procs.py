"""The registry of process groups collet_nb started, so that every way a kernel ends can kill them.

Children start in their own session (their pid is their process-group id); the registry keeps
those ids and kills whole groups. POSIX only, stdlib only.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from typing import Literal

logger = logging.getLogger(__name__)

RegistryEvent = Literal["add", "remove"]
Listener = Callable[[RegistryEvent, int], None]

_POLL_SECONDS = 0.02


def signal_group(pgid: int, sig: signal.Signals) -> bool:
    """Send ``sig`` to every process of group ``pgid``.

    Returns:
        False when the group no longer exists, True otherwise.

    Raises:
        ValueError: for a group id that would reach this process or everything (0, 1, our own).
    """
    _check_pgid(pgid)
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        # The id was reused by a group we may not signal: it is no longer ours.
        return False
    return True


def group_alive(pgid: int) -> bool:
    """Whether group ``pgid`` still has a running (not zombie) process."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # killpg also succeeds for exited but unreaped processes, and a container's PID 1 often
    # never reaps the orphans it inherits: on Linux, look at the members' states.
    return _has_live_member(pgid)


def _has_live_member(pgid: int) -> bool:
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True  # no procfs: trust killpg
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                raw = stat.read()
        except OSError:
            continue  # the process ended while we looked
        # The command name may hold spaces or parentheses: fields start after the last ')'.
        fields = raw.rsplit(b")", 1)[-1].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            return True
    return False


def _check_pgid(pgid: int) -> None:
    # killpg(0) signals our own group and killpg(1) nearly everything: never let an id like
    # that in, whatever a caller passes.
    if pgid <= 1 or pgid == os.getpgrp():
        raise ValueError(f"refusing to manage process group {pgid}: it is not a child's group")


class ProcessRegistry:
    """Process groups of the children started in their own session.

    Listeners are told of every ``("add", pgid)`` and ``("remove", pgid)`` (a watchdog process
    can mirror the set through a pipe). No lock is taken: ``kill_all`` may run from a signal
    handler, where waiting on a lock held by the interrupted thread would deadlock; set
    operations are atomic under the GIL and callers work on snapshots.
    """

    def __init__(self) -> None:
        self._pgids: set[int] = set()
        self._listeners: list[Listener] = []

    def add(self, pgid: int) -> None:
        """Record a child's process group.

        Raises:
            ValueError: for 0, 1 or this process's own group.
        """
        _check_pgid(pgid)
        if pgid not in self._pgids:
            self._pgids.add(pgid)
            self._notify("add", pgid)

    def discard(self, pgid: int) -> None:
        """Forget a process group (no error if it was not recorded)."""
        if pgid in self._pgids:
            self._pgids.discard(pgid)
            self._notify("remove", pgid)

    def pgids(self) -> frozenset[int]:
        """A snapshot of the recorded process groups."""
        return frozenset(self._pgids)

    def __contains__(self, pgid: object) -> bool:
        return pgid in self._pgids

    def __len__(self) -> int:
        return len(self._pgids)

    def add_listener(self, listener: Listener, *, replay: bool = True) -> None:
        """Call ``listener(event, pgid)`` on every change.

        Args:
            listener: the callable; its exceptions are logged, never raised.
            replay: first send an ``add`` for every group already recorded.
        """
        self._listeners.append(listener)
        if replay:
            for pgid in sorted(self._pgids):
                self._call(listener, "add", pgid)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener`` (no error if it was not added)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def kill_all(self, *, grace: float = 1.0) -> None:
        """Kill every recorded group: SIGTERM, up to ``grace`` seconds to exit, then SIGKILL.

        Blocks for at most about ``grace`` seconds; safe to call twice or from a signal handler.
        Every group is forgotten afterwards.
        """
        pgids = self.pgids()
        targets = [pgid for pgid in pgids if signal_group(pgid, signal.SIGTERM)]
        deadline = time.monotonic() + grace
        while targets and time.monotonic() < deadline:
            targets = [pgid for pgid in targets if group_alive(pgid)]
            if targets:
                time.sleep(_POLL_SECONDS)
        for pgid in targets:
            if group_alive(pgid):
                signal_group(pgid, signal.SIGKILL)
        for pgid in pgids:
            self.discard(pgid)

    def _notify(self, event: RegistryEvent, pgid: int) -> None:
        for listener in tuple(self._listeners):
            self._call(listener, event, pgid)

    @staticmethod
    def _call(listener: Listener, event: RegistryEvent, pgid: int) -> None:
        try:
            listener(event, pgid)
        except Exception:
            # A broken listener (say a watchdog whose pipe closed) must not stop the bookkeeping.
            logger.exception("process registry listener failed on %s %d", event, pgid)
