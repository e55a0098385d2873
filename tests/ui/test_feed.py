"""The event log views read: numbered, append-only, coalesced, sent in windows, resumable."""

import itertools
from collections.abc import Callable
from typing import Any

from collet_nb.core.events import (
    MessageStateChanged,
    MessageStatus,
    PlanResolved,
    TextDelta,
    ToolCallStarted,
)
from collet_nb.ui.feed import WINDOW, EventFeed


class Timers:
    """A hand-driven ``call_later``: ``run()`` fires what is due at the current time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.due: list[tuple[float, Callable[[], None]]] = []

    def call_later(self, delay: float, callback: Callable[[], None]) -> object:
        self.due.append((self.now + delay, callback))
        return callback  # a handle, as asyncio's

    def advance(self, seconds: float) -> None:
        """Move time on, firing each callback at its due time, in order (as a loop does)."""
        target = self.now + seconds
        while ready := sorted((d for d in self.due if d[0] <= target), key=lambda d: d[0]):
            due, callback = ready[0]
            self.due.remove(ready[0])
            self.now = max(self.now, due)
            callback()
        self.now = max(self.now, target)


class View:
    """What one view received: (start, events) batches."""

    def __init__(self) -> None:
        self.batches: list[tuple[int, list[dict[str, Any]]]] = []

    def send(self, start: int, events: list[dict[str, Any]]) -> None:
        self.batches.append((start, [dict(e) for e in events]))

    def types(self) -> list[str]:
        return [e["type"] for _s, batch in self.batches for e in batch]


def delta(text: str, mid: str = "m1") -> TextDelta:
    return TextDelta(message_id=mid, text=text)


def test_a_view_gets_nothing_before_it_asks_then_everything_once():
    timers = Timers()
    feed = EventFeed(timers.call_later, lambda: timers.now)
    view = View()
    cursor = feed.cursor(view.send, "m1")
    feed.add(MessageStateChanged(message_id="m1", state="queued"))
    feed.add(delta("Hel"))
    timers.advance(1)
    assert view.batches == []  # not rendered yet: a headless run sends nothing
    cursor.sync(0)
    assert view.batches == [
        (0, [
            {"type": "message_state", "message_id": "m1", "state": "queued", "error": None,
             "text": ""},
            {"type": "text_delta", "message_id": "m1", "text": "Hel"},
        ])
    ]  # fmt: skip


def test_deltas_in_one_window_arrive_as_one_event_and_batches_keep_a_window_apart():
    timers = Timers()
    feed = EventFeed(timers.call_later, lambda: timers.now)
    view = View()
    feed.cursor(view.send, "m1").sync(0)
    feed.add(delta("a"))
    timers.advance(0)  # the first after a quiet spell goes at once
    for piece in "bcdef":
        feed.add(delta(piece))
        timers.advance(WINDOW / 10)
    assert [b[1][0]["text"] for b in view.batches] == ["a"]
    timers.advance(WINDOW)
    assert [b[1][0]["text"] for b in view.batches] == ["a", "bcdef"]
    assert [b[0] for b in view.batches] == [0, 1]  # numbered: a's entry was sealed once sent


def test_a_view_that_renders_again_gets_what_it_has_not_seen():
    timers = Timers()
    feed = EventFeed(timers.call_later, lambda: timers.now)
    first, again = View(), View()
    cursor = feed.cursor(first.send, "m1")
    cursor.sync(0)
    for piece in ("one", "two"):
        feed.add(ToolCallStarted(message_id="m1", call_id=piece, name=piece, arguments="{}"))
        timers.advance(WINDOW)
    cursor.send = again.send  # a page reload: the view has lost everything
    cursor.sync(0)
    assert again.types() == ["tool_call", "tool_call"]
    cursor.sync(1)  # a view that kept the first one
    assert again.batches[-1][0] == 1


def test_a_cell_view_follows_its_retry_and_its_approved_plan_with_their_earlier_events():
    timers = Timers()
    feed = EventFeed(timers.call_later, lambda: timers.now)
    cell, other = View(), View()
    feed.cursor(cell.send, "m1").sync(0)
    feed.cursor(other.send, "m9").sync(0)
    feed.add(MessageStateChanged(message_id="m2", state="queued"))  # sent before it is named
    feed.add(MessageStatus(message_id="m1", status="failed", error="boom", retried_by="m2"))
    feed.add(delta("retried answer", "m2"))
    feed.add(MessageStateChanged(message_id="m3", state="queued"))
    feed.add(PlanResolved(message_id="m2", approved=True, follow_up="m3"))
    feed.add(delta("plan carried out", "m3"))
    timers.advance(0)
    got = [(e["type"], e["message_id"]) for _s, b in cell.batches for e in b]
    assert got == [
        ("message_status", "m1"),
        ("message_state", "m2"),
        ("text_delta", "m2"),
        ("plan_resolved", "m2"),
        ("message_state", "m3"),
        ("text_delta", "m3"),
    ]
    assert other.batches == []


def test_the_sidebars_cursor_follows_every_message():
    timers = Timers()
    feed = EventFeed(timers.call_later, lambda: timers.now)
    sidebar = View()
    feed.add(delta("a", "m1"))
    feed.add(delta("b", "m2"))
    cursor = feed.cursor(sidebar.send)
    cursor.sync(0)
    assert [e["message_id"] for e in sidebar.batches[0][1]] == ["m1", "m2"]


def test_a_view_whose_send_fails_is_dropped():
    timers = Timers()
    feed = EventFeed(timers.call_later, lambda: timers.now)

    def broken(_start, _events):
        raise RuntimeError("comm closed")

    cursor = feed.cursor(broken, "m1")
    feed.add(delta("x"))
    cursor.sync(0)
    assert cursor.closed
    assert cursor not in feed.cursors


def test_windows_keep_to_a_grid_however_long_a_flush_takes():
    timers = Timers()
    sent_at: list[float] = []

    def slow_send(_start, _events):
        sent_at.append(timers.now)
        timers.now += 0.01  # sending takes 10 ms

    feed = EventFeed(timers.call_later, lambda: timers.now)
    feed.cursor(slow_send, "m1").sync(0)
    sent_at.clear()
    for _ in range(40):
        feed.add(delta("x"))
        timers.advance(0.005)
    assert len(sent_at) >= 4
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(sent_at)]
    assert set(gaps) == {WINDOW}  # not WINDOW + the 10 ms each send took


def test_a_log_nobody_reads_stops_growing_one_entry_at_a_bound():
    from collet_nb.ui.feed import MERGE_CHARS

    feed = EventFeed(Timers().call_later)
    for _ in range(3 * MERGE_CHARS):
        feed.add(delta("y"))
    assert all(len(e["text"]) <= MERGE_CHARS for e in feed.entries)
    assert "".join(e["text"] for e in feed.entries) == "y" * 3 * MERGE_CHARS
