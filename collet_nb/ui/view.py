"""A cell's live view of a message (or, for ``/panel``, of the whole session): an anywidget
whose front end is the TypeScript renderer the sidebar uses too (labextension/src).

The renderer bundle (``collet_nb/static/message_view.js``, built from labextension/src) is
sent once per kernel, by a :class:`ViewLibrary` that is never displayed; each view carries a
loader of a few hundred bytes that waits for it. So a view's comm_open is small, and the
view works without our lab extension (JupyterLab, Notebook 7, VS Code): anywidget runs it.

A view asks for its events (``sync``) when it renders, gets new ones in batches, and sends
button presses as ``action`` requests (docs/protocol.md).
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from collet_nb.errors import ColletError, ConfigError
from collet_nb.ui.actions import act
from collet_nb.ui.mainloop import on_main_thread
from collet_nb.ui.protocol import PROTOCOL_VERSION

if TYPE_CHECKING:
    from collet_nb.runtime.runner import SessionRunner
    from collet_nb.ui.feed import Cursor, EventFeed

log = logging.getLogger("collet_nb")

BUNDLE = Path(__file__).resolve().parents[1] / "static" / "message_view.js"
GLOBAL = "__colletNbView2"  # what the bundle's initialize() publishes (protocol 2)

# Waits (bounded) for the renderer the library widget brings, then hands the view to it.
LOADER = f"""
const ready = () => globalThis.{GLOBAL};
async function lib() {{
  for (let i = 0; i < 300 && !ready(); i++) await new Promise((r) => setTimeout(r, 50));
  return ready();
}}
export default {{
  async render({{ model, el }}) {{
    const view = await lib();
    if (!view) {{ el.textContent = "collet: the view's renderer did not load"; return; }}
    return view.render({{ model, el }});
  }}
}};
"""


@cache
def bundle() -> str:
    """The renderer bundle's text.

    Raises:
        ConfigError: when it was never built (an install without npm).
    """
    if not BUNDLE.is_file():
        raise ConfigError(
            f"the cell view is not built ({BUNDLE} is missing): run `npm run build:prod` in "
            "labextension/ (scripts/setup.sh does), or install collet_nb from a wheel"
        )
    return BUNDLE.read_text(encoding="utf-8")


class ViewLibrary(anywidget.AnyWidget):
    """Brings the renderer to the page once per kernel; never displayed."""

    _esm = traitlets.Unicode().tag(sync=True)


_LIBRARY: dict[str, ViewLibrary] = {}


def library() -> ViewLibrary:
    """This kernel's library widget (made at the first view)."""
    current = _LIBRARY.get("kernel")
    if current is None or current.comm is None:
        current = _LIBRARY["kernel"] = ViewLibrary(_esm=bundle())
    return current


class ConversationView(anywidget.AnyWidget):
    """The live view of one message and its follow-ups (``message_id``), or of the whole
    session (``message_id`` empty)."""

    _esm = LOADER
    message_id = traitlets.Unicode("").tag(sync=True)
    protocol_version = traitlets.Int(PROTOCOL_VERSION).tag(sync=True)

    def __init__(self, runner: SessionRunner, feed: EventFeed, message_id: str = "") -> None:
        """Raises ConfigError when the renderer was never built (nothing is opened then)."""
        library()  # before this view's comm opens: its loader finds the renderer sooner
        super().__init__(message_id=message_id)
        self.runner = runner
        self.cursor: Cursor = feed.cursor(self._send_events, message_id or None)
        self.on_msg(on_main_thread(self._on_msg))

    def _send_events(self, start: int, events: list[dict[str, Any]]) -> None:
        self.send(
            {"protocol_version": PROTOCOL_VERSION, "type": "events", "start": start,
             "events": events}
        )  # fmt: skip

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any = None) -> None:
        if not isinstance(content, dict) or content.get("protocol_version") != PROTOCOL_VERSION:
            return  # a page of another collet_nb version: it re-renders after a reload
        kind = content.get("type")
        if kind == "sync":
            seen = content.get("seen")
            self.cursor.sync(seen if isinstance(seen, int) else 0)
        elif kind == "action":
            self._act(content)

    def _act(self, request: dict[str, Any]) -> None:
        request_id = request.get("request_id")
        try:
            ok, text = True, act(self.runner, request, by="button")
        except ColletError as exc:
            ok, text = False, str(exc)
        except Exception as exc:  # a kernel-side bug must not take the view down
            log.error("collet: a view's action failed", exc_info=exc)
            ok, text = False, f"internal error: {type(exc).__name__}: {exc}"
        self.send(
            {"protocol_version": PROTOCOL_VERSION, "type": "reply",
             "request_id": request_id if isinstance(request_id, str) else None, "ok": ok,
             "text": self.runner.redactor.text(text)}
        )  # fmt: skip

    def close(self) -> None:
        """Stop following the session, then close the widget."""
        cursor: Cursor | None = getattr(self, "cursor", None)  # None if __init__ failed
        if cursor is not None:
            cursor.close()
        super().close()
