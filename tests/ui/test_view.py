"""A cell's live view (ConversationView) over a real runner and its event feed, no kernel: what
the view's comm carries is every event the runner emits for its message, in order, with the
answer's text whole — and nothing of any other message.

(These replace tests/ui/test_widgets.py's ``events_reach_views_as_the_runner_emits_them`` and
``state_events_of_other_messages_do_not_touch_the_view``, which passed with the view's event
handler made a no-op: they watched the runner, or a view that never changed.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from collet_nb.core.events import Event, MessageStateChanged, TextDelta
from collet_nb.core.kinds import ChannelId
from collet_nb.core.settings import Settings
from collet_nb.runtime.hub import SessionHub
from collet_nb.ui.feed import EventFeed
from collet_nb.ui.protocol import PROTOCOL_VERSION
from collet_nb.ui.view import ConversationView
from tests.support.stand_ins import FunctionModel, last_user, text

NB = ChannelId.new("jupyter", "view.ipynb")


def merged(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events with consecutive text deltas of one message joined (the feed sends them so)."""
    out: list[dict[str, Any]] = []
    for event in events:
        last = out[-1] if out else None
        if (
            last is not None
            and event["type"] in ("text_delta", "reasoning_delta")
            and last["type"] == event["type"]
            and last["message_id"] == event["message_id"]
        ):
            last["text"] += event["text"]
        else:
            out.append(dict(event))
    return out


class Browser:
    """What one view's comm carried to the front end (the real ``Widget.send`` path, down to
    the comm, which has no kernel here)."""

    def __init__(self, view: ConversationView) -> None:
        self.payloads: list[dict[str, Any]] = []
        view.comm.send = self._receive
        view._on_msg(view, {"protocol_version": PROTOCOL_VERSION, "type": "sync", "seen": 0})

    def _receive(self, data: Any = None, **_kwargs: Any) -> None:
        assert data["method"] == "custom"
        self.payloads.append(data["content"])

    def events(self) -> list[dict[str, Any]]:
        """The view's events in its numbering (batches must follow each other, no gap)."""
        log: list[dict[str, Any]] = []
        for payload in self.payloads:
            assert payload["protocol_version"] == PROTOCOL_VERSION
            assert payload["type"] == "events"
            assert payload["start"] == len(log), "a gap or a repeat in the numbering"
            log.extend(payload["events"])
        return log


def hub_for(tmp_path: Path) -> SessionHub:
    project = tmp_path / "project"
    project.mkdir()
    return SessionHub(
        settings=lambda _p: Settings(home=str(tmp_path / "home"), approval="yolo"),
        project_dir=project,
        provider_factory=lambda _s: FunctionModel(lambda r: text("re ", last_user(r), "!")),
    )


def run_two_messages(
    tmp_path: Path, *, extra: Sequence[Event] = ()
) -> tuple[dict[str, Browser], list[Event]]:
    """Views of m1 and m2 on one runner; "one" and "two" sent, then ``extra`` emitted."""
    hub = hub_for(tmp_path)
    emitted: list[Event] = []

    async def main() -> dict[str, Browser]:
        runner = hub.runner(NB)
        feed = EventFeed()  # on this loop, with the real 50 ms windows
        runner.subscribe(feed.add)  # as ColletExtension does for every runner
        runner.subscribe(emitted.append)
        browsers = {mid: Browser(ConversationView(runner, feed, mid)) for mid in ("m1", "m2")}
        runner.send("one")
        runner.send("two")
        await runner.wait_idle()
        for event in extra:
            runner.emit(event)
        await asyncio.sleep(0.2)  # a few windows: every batch has left
        await hub.aclose()
        return browsers

    browsers = asyncio.run(main())
    return browsers, emitted


def test_a_cell_view_gets_every_event_of_its_message_as_the_runner_emits_it(tmp_path):
    browsers, emitted = run_two_messages(tmp_path)
    got = browsers["m1"].events()
    expected = merged([e.to_dict() for e in emitted if e.message_id == "m1"])
    assert got == expected
    assert [e["text"] for e in got if e["type"] == "text_delta"] == ["re one!"]
    statuses = [e["status"] for e in got if e["type"] == "message_status"]
    assert statuses == ["queued", "running", "answered"]


def test_events_of_other_messages_never_reach_a_cell_view(tmp_path):
    foreign = [
        MessageStateChanged(message_id="m7", state="failed", error="other"),
        TextDelta(message_id="m7", text="not mine"),
    ]
    browsers, _emitted = run_two_messages(tmp_path, extra=foreign)
    one, two = browsers["m1"].events(), browsers["m2"].events()
    assert {e["message_id"] for e in one} == {"m1"}
    assert {e["message_id"] for e in two} == {"m2"}
    # Each view still got its own message, whole: the filter is not "send nothing".
    assert [e["text"] for e in one if e["type"] == "text_delta"] == ["re one!"]
    assert [e["text"] for e in two if e["type"] == "text_delta"] == ["re two!"]
