"""Which messages ended since the last ``/wait``, so each one is reported exactly once — also
those that ended before the wait began (a replayed cell, a fast failure)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collet_nb.core.events import Event, MessageStateChanged
from collet_nb.core.message import MessageState

if TYPE_CHECKING:
    from collet_nb.runtime.runner import SessionRunner


class Finishes:
    """Follows the sessions the magic used and hands out their ended messages, once each."""

    def __init__(self) -> None:
        self._ended: dict[str, list[str]] = {}
        self._reported: dict[str, int] = {}

    def follow(self, runner: SessionRunner) -> None:
        """Start recording ``runner``'s ended messages (idempotent)."""
        sid = runner.session.session_id
        if sid in self._ended:
            return
        ended = self._ended[sid] = []

        def record(event: Event) -> None:
            if isinstance(event, MessageStateChanged) and MessageState(event.state).terminal:
                ended.append(event.message_id)

        runner.subscribe(record)

    def take(self, runner: SessionRunner) -> list[str]:
        """The ids of ``runner``'s messages that ended since the last call, in ending order."""
        sid = runner.session.session_id
        ended = self._ended.get(sid, [])
        start, self._reported[sid] = self._reported.get(sid, 0), len(ended)
        return ended[start:]
