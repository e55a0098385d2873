"""Kernel CPU per streamed event in the view layer: what the event feed adds to each
``TextDelta`` (``EventFeed.add``, the cursor's batching and sealing), amortized over a long
stream. Nothing renders Markdown in the kernel any more (the browser does), so this is all
the view layer does per token.

The feed has no runner: ``--events`` synthetic deltas (the loopback's 10,000-token answer in
its 14-character pieces, over and over) go straight into ``EventFeed.add``; a fake loop ends
the feed's window every ``--per-window`` events (12 ≈ 50 ms of a stream of 14-character
events every 4 ms). CPU time (``time.process_time``) of that loop minus the same loop with
no-op calls, per event; medians over ``--repeats``. Variants:

* ``view``: one message, one synced cursor with a no-op send (a cell's live view, the wire
  aside): the target's figure;
* ``packed``: the same, each batch packed as the kernel's session packs the comm message
  (``json_packer``) before it goes to the socket;
* ``cell``: consecutive messages of the 10,000-token answer in one session, each with what a
  ``%%collet`` cell gives it (a view's cursor and the output's transcript cursor, made and
  synced when it starts, closed when it ends);
* ``unsynced``: a log no view has synced (nobody reads it), at ``--unsynced`` sizes: the
  unsent text of a message keeps growing in one entry.

    .venv/bin/python bench/view_cpu.py [--events 200000] [--per-window 12] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loopback import CHUNK, make_answer  # noqa: E402
from bench.report import Row, at_most  # noqa: E402

TARGET_US = 2.0
# (a message begins, an event, a window ends)
Drive = tuple[Callable[[str], None], Callable[[Any], None], Callable[[], None]]


class Windows:
    """The feed's ``call_later``: keeps the pending callback; ``fire`` runs it (a window ends)."""

    def __init__(self) -> None:
        self.pending: Callable[[], None] | None = None

    def call_later(self, _delay: float, callback: Callable[[], None]) -> object:
        self.pending = callback
        return callback

    def fire(self) -> None:
        callback, self.pending = self.pending, None
        if callback is not None:
            callback()


def _pieces() -> list[str]:
    """The loopback's 10,000-token answer in its 14-character SSE pieces."""
    answer = make_answer(10_000)
    return [answer[i : i + CHUNK] for i in range(0, len(answer), CHUNK)]


def _deltas(count: int, *, per_message: int | None = None) -> list[Any]:
    """``count`` TextDeltas of the answer's pieces, cycled: one message, or consecutive
    messages of ``per_message`` deltas each."""
    from collet_nb.core.events import TextDelta

    pieces = _pieces()
    made: dict[tuple[str, int], Any] = {}
    out = []
    for i in range(count):
        mid = f"m{i // per_message + 1}" if per_message else "m1"
        key = (mid, i % len(pieces))
        if key not in made:
            made[key] = TextDelta(message_id=mid, text=pieces[key[1]])
        out.append(made[key])
    return out


def _bare() -> Drive:
    def begin(_message_id: str) -> None:
        pass

    def add(_event: Any) -> None:
        pass

    def tick() -> None:
        pass

    return begin, add, tick


def _send_nothing(_start: int, _events: list[dict[str, Any]]) -> None:
    pass


def _send_packed(start: int, events: list[dict[str, Any]]) -> None:
    """What ConversationView's send costs before the socket: the comm message, packed."""
    from jupyter_client.session import json_packer

    content = {"protocol_version": 2, "type": "events", "start": start, "events": events}
    json_packer({"method": "custom", "content": content})


def _feed(*, view: bool = True, transcript: bool = False, packed: bool = False) -> Drive:
    """A runner-less feed; each message gets the cursors a cell gives it (synced at once),
    and the previous message's are closed, as its output does when it ends."""
    from collet_nb.ui.feed import Cursor, EventFeed
    from collet_nb.ui.output import MessageOutput
    from collet_nb.ui.transcript import Transcript

    windows = Windows()
    feed = EventFeed(schedule=windows.call_later)
    open_: list[Cursor] = []

    def begin(message_id: str) -> None:
        for cursor in open_:
            cursor.close()
        open_.clear()
        if view:
            open_.append(feed.cursor(_send_packed if packed else _send_nothing, message_id))
        if transcript:
            # The real output's event handler, without its display and its widget.
            output = object.__new__(MessageOutput)
            output.message_id, output.view, output.live = message_id, None, False
            output.transcript = Transcript()
            open_.append(feed.cursor(output._on_events, message_id))
        for cursor in open_:
            cursor.sync(0)

    return begin, feed.add, windows.fire


# name → (how to build it, whether its stream is messages of a 10,000-token answer)
VARIANTS: dict[str, tuple[Callable[[], Drive], bool]] = {
    "view": (_feed, False),
    "packed": (lambda: _feed(packed=True), False),
    "cell": (lambda: _feed(transcript=True), True),
}


def _run(drive: Drive, events: list[Any], per_window: int) -> float:
    """CPU seconds to feed ``events``, ending a window every ``per_window`` of them."""
    begin, add, tick = drive
    n = 0
    current = ""
    started = time.process_time()
    for event in events:
        if event.message_id != current:
            current = event.message_id
            begin(current)
        add(event)
        n += 1
        if n == per_window:
            n = 0
            tick()
    tick()
    return time.process_time() - started


def measure(
    *,
    events: int = 200_000,
    per_window: int = 12,
    repeats: int = 5,
    unsynced: tuple[int, ...] = (2_500, 25_000),
) -> dict[str, Any]:
    """Median CPU µs per event of each variant, above the bare loop's."""
    per_message = len(_pieces())
    streams = {False: _deltas(events), True: _deltas(events, per_message=per_message)}
    makers: dict[str, tuple[Callable[[], Drive], bool]] = {
        "bare": (_bare, False),
        "bare_messages": (_bare, True),
        **VARIANTS,
    }
    for make, split in makers.values():  # a first pass warms imports and caches
        _run(make(), streams[split][: min(events, 5_000)], per_window)
    seconds: dict[str, list[float]] = {name: [] for name in makers}
    for _ in range(repeats):  # the variants take turns, so drift hits all alike
        for name, (make, split) in makers.items():
            seconds[name].append(_run(make(), streams[split], per_window))
    bare = {split: statistics.median(seconds["bare_messages" if split else "bare"])
            for split in (False, True)}  # fmt: skip
    us = {
        name: round((statistics.median(seconds[name]) - bare[split]) / events * 1e6, 2)
        for name, (_, split) in VARIANTS.items()
    }
    # A log nobody syncs: no cursor seals it, so one entry takes every delta.
    lonely = {}
    for count in unsynced:
        some = _deltas(count)
        took = _run(_feed(view=False), some, per_window) - _run(_bare(), some, per_window)
        lonely[str(count)] = round(took / count * 1e6, 2)
    return {
        "events": events,
        "per_window": per_window,
        "repeats": repeats,
        "cell_message_events": per_message,
        "bare_us_per_event": round(bare[False] / events * 1e6, 3),
        "us_per_event": us,
        "unsynced_us_per_event": lonely,
        "markdown_in_kernel": False,
    }


def rows(figures: dict[str, Any]) -> list[Row]:
    """The view layer's kernel CPU per streamed event."""
    us = figures["us_per_event"]
    lonely = figures["unsynced_us_per_event"]
    messages = figures["events"] // figures["cell_message_events"]
    out = [
        Row(
            section="3 view CPU",
            metric="kernel CPU per TextDelta, view layer: feed + a synced cursor "
            "(no Markdown is rendered in the kernel)",
            value=f"{us['view']:.2f} µs",
            target=f"≤{TARGET_US:g} µs",
            met=at_most(us["view"], TARGET_US),
        ),
        Row(
            section="3 view CPU",
            metric=f"… + packing each batch; a cell's two cursors, {messages} long answers "
            "in a session",
            value=f"{us['packed']:.2f} µs; {us['cell']:.2f} µs",
        ),
    ]
    if lonely:
        out.append(
            Row(
                section="3 view CPU",
                metric="… a log no view has synced: per event at "
                + " / ".join(f"{int(n):,}" for n in lonely)
                + " deltas",
                value=" / ".join(f"{v:.1f}" for v in lonely.values()) + " µs",
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--per-window", type=int, default=12, help="events per 50 ms window")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--unsynced", default="2500,25000", help="sizes of the unsynced log (comma-separated)"
    )
    args = parser.parse_args()
    sizes = tuple(int(n) for n in args.unsynced.split(",") if n.strip())
    figures = measure(
        events=args.events, per_window=args.per_window, repeats=args.repeats, unsynced=sizes
    )
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
