"""The output of one ``%collet`` message: its live view while anything in it can still
change, and its static transcript for readers without the kernel; one display, updated in
place (a display id), so a save or an nbclient run keeps the latest.

While the message (or a follow-up: its retry, its approved plan) runs, the output holds the
live view and a one-line Markdown placeholder; after each decision the Markdown is the
transcript so far; when everything has ended it is the transcript alone. A front end that
finds the widget's model gone (a reopened notebook) would say "model not found" rather than
fall back, so the output ends on the static form.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import TYPE_CHECKING, Any

from IPython import get_ipython
from IPython.display import display, update_display

from collet_nb.errors import ConfigError
from collet_nb.ui.transcript import Transcript, placeholder
from collet_nb.ui.view import ConversationView

if TYPE_CHECKING:
    from collet_nb.runtime.runner import SessionRunner
    from collet_nb.ui.feed import EventFeed

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
METADATA_KEY = "collet_nb"  # the output metadata key (labextension/src/restore.ts reads it)
_SAID: list[str] = []  # the missing-renderer note, once per kernel
CLOSE_AFTER = 30.0  # seconds an ended view's widget lives on (no longer shown)
# After these, what a reader without the kernel sees is brought up to date.
DECISIONS = {"approval_resolved", "plan_resolved"}


class MessageOutput:
    """Shows one message in the cell that sent it, and keeps its saved form current."""

    def __init__(self, runner: SessionRunner, feed: EventFeed, message_id: str) -> None:
        self.message_id = message_id
        self.view: ConversationView | None = None
        try:
            self.view = ConversationView(runner, feed, message_id)
        except ConfigError as exc:  # no renderer built: the transcript alone, said once
            if not _SAID:
                _SAID.append(str(exc))
                print(f"collet: {exc}; showing the transcript only", file=sys.stderr)
        self.transcript = Transcript()
        self.display_id = f"collet-{message_id}-{uuid.uuid4().hex[:12]}"
        self.live = self.view is not None
        self._last: dict[str, Any] | None = None  # the last update's bundle
        self._parent: str | None = None  # the request it was sent to
        self._fresh = False  # not yet sent again to a later request
        # The transcript follows at once (no front end to wait for); its updates go out only
        # at decisions and at the end, never per token.
        self.cursor = feed.cursor(self._on_events, message_id)

    def show(self) -> None:
        """Display it (in the running cell) and start following."""
        display(
            self._bundle(placeholder(self.message_id)),
            raw=True,
            metadata=self._metadata(),
            display_id=self.display_id,
        )
        self.cursor.sync(0)

    def _metadata(self) -> dict[str, Any]:
        # Saved with the output (the transient display id is not): a page reloaded while the
        # kernel lives finds this output again by it (labextension/src/restore.ts).
        return {METADATA_KEY: {"display_id": self.display_id}}

    def _bundle(self, markdown: str) -> dict[str, Any]:
        bundle: dict[str, Any] = {
            "text/markdown": markdown,
            "text/plain": f"collet: {self.message_id} (the transcript is in the Markdown form)",
        }
        if self.live and self.view is not None:
            bundle[WIDGET_MIME] = {
                "version_major": 2,
                "version_minor": 1,
                "model_id": self.view.model_id,
            }
        return bundle

    def _on_events(self, _start: int, events: list[dict[str, Any]]) -> None:
        for event in events:
            self.transcript.add(event)
        if self.transcript.ended():
            self._end()
        elif any(e.get("type") in DECISIONS for e in events):
            self._update(self.transcript.markdown())

    def _update(self, markdown: str) -> None:
        self._last = self._bundle(markdown)
        self._parent = publish_update(self._last, self._metadata(), self.display_id)
        self._fresh = True

    def resend(self, parent_id: str | None) -> bool:
        """Send the last update again to request ``parent_id`` when it went to another one
        (it went out between two cells, to the previous one: nbclient drops those). Whether
        this output still has an update that may need it."""
        if self._last is None or parent_id is None or not self._fresh:
            return self.live
        if self._parent != parent_id:  # at most once per update
            self._parent = publish_update(self._last, self._metadata(), self.display_id)
            self._fresh = False
        return self.live or self._fresh

    def _end(self) -> None:
        """Everything ended: the output becomes the transcript alone; the widget goes."""
        self.live = False
        self._update(self.transcript.markdown())
        self.cursor.close()
        view, self.view = self.view, None
        if view is not None:
            view.cursor.flush()  # its last batch first
            view.cursor.close()
            # The widget itself closes later: a front end still loading its model (a message
            # that ended at once, under Run All) would fail to initialize a closed one.
            _later(CLOSE_AFTER, view.close)


def latest_parent(kernel: Any) -> dict[str, Any] | None:
    """The request the kernel handles now (or last): a display update sent from a background
    task goes to that cell, as a front end or nbclient running it expects. ipykernel 7 keeps
    a task's parent in a context variable (the cell that started the task); the latest one
    lives in the context of its last request."""
    context, var = getattr(kernel, "_shell_context", None), getattr(kernel, "_shell_parent", None)
    if context is not None and var is not None:
        try:
            parent: dict[str, Any] = context[var]
            return parent
        except KeyError:
            pass
    get_parent = getattr(kernel, "get_parent", None)
    return get_parent("shell") if callable(get_parent) else None


def publish_update(bundle: dict[str, Any], metadata: dict[str, Any], display_id: str) -> str | None:
    """``update_display`` parented to the latest request (outside a kernel: as IPython does);
    the id of the request it went to."""
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    pub = getattr(shell, "display_pub", None)
    parent = latest_parent(kernel) if kernel is not None else None
    if not parent or pub is None or getattr(pub, "session", None) is None:
        update_display(bundle, raw=True, metadata=metadata, display_id=display_id)
        return None
    from ipykernel.jsonutil import json_clean

    content = {"data": bundle, "metadata": metadata, "transient": {"display_id": display_id}}
    pub.session.send(
        pub.pub_socket, "update_display_data", json_clean(content), parent=parent, ident=pub.topic
    )
    return str(parent.get("header", {}).get("msg_id") or "") or None


def _later(delay: float, callback: Any) -> None:
    try:
        asyncio.get_running_loop().call_later(delay, callback)
    except RuntimeError:  # no loop (a plain shell): now
        callback()
