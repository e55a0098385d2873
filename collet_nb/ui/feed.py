"""The numbered event log of one session, and the cursors that send it to views in batches.

Every event of a runner is kept once, as its JSON dict, in one append-only log (consecutive
text deltas of a message merge while unsent). A :class:`Cursor` follows part of the log — a
cell's message and its follow-ups, or all of it for the sidebar — with its own numbering, so a
view that renders again (a page reload, a second view of one output) asks for what it has not
seen, and nothing is sent twice per token.

Batches leave at most once per ``WINDOW`` seconds: the first event after a quiet window at
once (the reader waits for exactly that), the rest at the window's end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from collet_nb.core.events import Event

log = logging.getLogger("collet_nb")

WINDOW = 0.05  # ≤ 20 batches a second while streaming
MERGE_CHARS = 4096  # a text entry stops growing here (a log nobody reads must stay linear)
Send = Callable[[int, list[dict[str, Any]]], None]  # (start, events) to one view


def follow_up(entry: dict[str, Any]) -> str:
    """The message an entry names as its follow-up (its retry, its approved plan's), or ""."""
    follow = entry.get("retried_by") or entry.get("follow_up")
    return follow if isinstance(follow, str) else ""


class Cursor:
    """One view's part of the log: which entries, in its own order, and how many it was sent.

    Args:
        feed: the session's log.
        send: delivers ``(start, events)`` to the view.
        message_id: the message to follow with its follow-ups; None follows everything.
    """

    def __init__(self, feed: EventFeed, send: Send, message_id: str | None) -> None:
        self.feed = feed
        self.send = send
        self.ids: set[str] | None = None if message_id is None else {message_id}
        self.entries: list[int] = []  # indexes into feed.entries, append-only
        self.sent = 0
        # Nothing goes out before the view asks once: a front end that has not rendered yet
        # would drop it, and a headless run (no front end) costs nothing.
        self.ready = False
        self.closed = False
        if self.ids is None:
            self.entries = list(range(len(feed.entries)))
        else:  # the message's own entries, and its follow-ups' (found in them), in log order
            for index in sorted(feed.related(message_id or "")):
                self.offer(index)

    def offer(self, index: int) -> None:
        """Take entry ``index`` if it belongs here (and, for a follow-up it names, that one's
        earlier entries after it)."""
        entry = self.feed.entries[index]
        if self.ids is None:
            self.entries.append(index)
            return
        if entry.get("message_id") not in self.ids:
            return
        self.entries.append(index)
        follow = follow_up(entry)
        if follow and follow not in self.ids:
            self.ids.add(follow)
            self.entries.extend(self.feed.indexes_of(follow, before=index))

    def events(self, start: int) -> list[dict[str, Any]]:
        """This view's events from ``start`` on (what it will have seen is then sealed)."""
        self.feed.seal()
        return [self.feed.entries[i] for i in self.entries[start:]]

    def sync(self, seen: int) -> None:
        """Send everything from ``seen`` on (the view asked: it rendered again)."""
        seen = max(0, min(seen, len(self.entries)))
        events = self.events(seen)
        self.ready = True
        self.sent = max(self.sent, len(self.entries))
        self._deliver(seen, events)

    def flush(self) -> None:
        """Send what is new since the last send."""
        if not self.ready or self.sent >= len(self.entries):
            return
        start = self.sent
        events = self.events(start)
        self.sent = len(self.entries)
        self._deliver(start, events)

    def _deliver(self, start: int, events: list[dict[str, Any]]) -> None:
        if not events or self.closed:
            return
        try:
            self.send(start, events)
        except Exception:  # a closed comm: the view is gone
            log.debug("collet: a view could not be sent its events", exc_info=True)
            self.close()

    def close(self) -> None:
        """Stop following the log."""
        self.closed = True
        self.feed.cursors.pop(self, None)


class EventFeed:
    """The log of one runner's events and the cursors reading it.

    Args:
        schedule: ``call_later(delay, callback)`` of the loop (a test passes its own).
        clock: seconds, monotonic (a test passes its own, with ``schedule``).
    """

    def __init__(
        self,
        schedule: Callable[[float, Callable[[], None]], Any] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.entries: list[dict[str, Any]] = []
        self.cursors: dict[Cursor, None] = {}  # ordered: views flush in the order they came
        self._by_message: dict[str, list[int]] = {}
        self._sealed = 0  # entries before this index were sent somewhere: never merged into
        self._call_later = schedule or _loop_call_later
        self._clock = clock or time.monotonic
        self._timer: Any = None
        self._grid = 0.0
        self._ticks = 0

    def cursor(self, send: Send, message_id: str | None = None) -> Cursor:
        """A new view's cursor (it sends nothing until the view syncs or the log grows)."""
        cursor = Cursor(self, send, message_id)
        self.cursors[cursor] = None
        return cursor

    def related(self, message_id: str) -> set[int]:
        """The entries of ``message_id`` and of its follow-ups, transitively."""
        found: set[int] = set()
        todo, seen = [message_id], {message_id}
        while todo:
            for index in self._by_message.get(todo.pop(), ()):
                found.add(index)
                follow = follow_up(self.entries[index])
                if follow and follow not in seen:
                    seen.add(follow)
                    todo.append(follow)
        return found

    def indexes_of(self, message_id: str, *, before: int) -> list[int]:
        """The entries of ``message_id`` before index ``before``."""
        return [i for i in self._by_message.get(message_id, ()) if i < before]

    def seal(self) -> None:
        """What exists now may have been sent: later deltas start new entries."""
        self._sealed = len(self.entries)

    def add(self, event: Event) -> None:
        """Log ``event`` (a runner listener) and schedule a batch."""
        data = event.to_dict()
        last = self.entries[-1] if len(self.entries) > self._sealed else None
        if (
            last is not None
            and data["type"] in ("text_delta", "reasoning_delta")
            and last["type"] == data["type"]
            and last["message_id"] == data["message_id"]
            and len(last["text"]) < MERGE_CHARS
        ):
            last["text"] += data["text"]
        else:
            index = len(self.entries)
            self.entries.append(data)
            self._by_message.setdefault(data["message_id"], []).append(index)
            for cursor in tuple(self.cursors):
                cursor.offer(index)
        self._soon()

    def _soon(self) -> None:
        if self._timer is None:  # quiet: at once; else the window's end sends it
            self._timer = self._call_later(0, self._tick)
            self._ticks = 0

    def _tick(self) -> None:
        """Send what came; if anything did, look again when the window ends. Windows keep to
        a fixed grid from the first batch (not 50 ms after each flush ended, which drifts)."""
        self._timer = None
        if self._ticks == 0:
            self._grid = self._clock()
        self._ticks += 1
        if self.flush():
            due = self._grid + self._ticks * WINDOW
            self._timer = self._call_later(max(0.0, due - self._clock()), self._tick)

    def flush(self) -> bool:
        """Send every cursor what is new; whether anything was."""
        pending = any(c.ready and c.sent < len(c.entries) for c in self.cursors)
        for cursor in tuple(self.cursors):
            cursor.flush()
        return pending


def _loop_call_later(delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
    return asyncio.get_event_loop().call_later(delay, callback)
