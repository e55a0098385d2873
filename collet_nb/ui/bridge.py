"""The comm bridge between the kernel's session and the JupyterLab sidebar.

Each open comm gets a status snapshot, then every event of this notebook's session; requests
from the sidebar go through the same runner calls and slash commands as the widgets. Bad
messages get an error reply, never an exception in the kernel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from collet_nb.core.commands import parse_command
from collet_nb.core.events import (
    ApprovalRequested,
    ApprovalResolved,
    Event,
    MessageStateChanged,
    PlanReady,
    PlanResolved,
    SessionChanged,
    StatusUpdate,
    TurnFinished,
)
from collet_nb.core.kinds import ChannelId
from collet_nb.errors import ColletError
from collet_nb.ui.actions import act
from collet_nb.ui.mainloop import on_main_thread
from collet_nb.ui.protocol import COMM_TARGET, PROTOCOL_VERSION, ProtocolError, check_request
from collet_nb.ui.transcript import Transcript

if TYPE_CHECKING:
    from collet_nb.runtime.runner import SessionRunner
    from collet_nb.ui.extension import ColletExtension
    from collet_nb.ui.feed import Cursor

log = logging.getLogger("collet_nb")

# Events after which the sidebar also gets a fresh status snapshot.
SNAPSHOT_AFTER = (
    MessageStateChanged,
    ApprovalRequested,
    ApprovalResolved,
    PlanReady,
    PlanResolved,
    SessionChanged,
    StatusUpdate,
    TurnFinished,
)


class Bridge:
    """One sidebar connection (one comm)."""

    def __init__(
        self, extension: ColletExtension, comm: Any, *, forget: Callable[[Bridge], None]
    ) -> None:
        self.extension = extension
        self.comm = comm
        self._forget = forget
        self._unsubscribe: Any = None
        self.cursor: Cursor | None = None
        self._snapshot_due = False
        self.attach(extension.runner())
        # The notebook tools reach the notebook through this sidebar's panel (notebook_front).
        self._unfront: Callable[[], None] | None = extension.notebook_tools.fronts.add(
            self._send_notebook
        )

    def attach(self, runner: SessionRunner) -> None:
        """Follow ``runner`` (the notebook's current session): its status, then its whole
        event log (a sidebar that opens late, or after /new, sees everything)."""
        self.detach()
        self.runner = runner
        self._unsubscribe = runner.subscribe(self.on_event)
        self.cursor = self.extension.feed(runner).cursor(self._send_events)
        self.send_status()
        self.cursor.sync(0)

    def close(self) -> None:
        """The sidebar closed its comm: stop following, and forget this bridge."""
        self.detach()
        self._forget(self)

    def _send_notebook(self, request: dict[str, Any]) -> bool:
        """Send a notebook tool's request to this panel; False once the comm is gone."""
        if self.cursor is None:  # detached: a closed comm or a failed send
            if self._unfront is not None:
                self._unfront()
                self._unfront = None
            return False
        self._send(dict(request))
        return self.cursor is not None

    def detach(self) -> None:
        """Stop following events."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.cursor is not None:
            self.cursor.close()
            self.cursor = None

    def send_status(self) -> None:
        """Send a full status snapshot."""
        self._send({"type": "status", "status": self.runner.status()})

    def on_event(self, event: Event) -> None:
        """A snapshot follows the batch that carries a state change (the feed sends events)."""
        if isinstance(event, SNAPSHOT_AFTER):
            self._snapshot_due = True

    def _send_events(self, start: int, events: list[dict[str, Any]]) -> None:
        self._send({"type": "events", "start": start, "events": events})
        if self._snapshot_due:
            self._snapshot_due = False
            self.send_status()

    def on_msg(self, msg: dict[str, Any]) -> None:
        """Handle one sidebar request; every outcome gets a reply."""
        data = msg.get("content", {}).get("data")
        request_id = data.get("request_id") if isinstance(data, dict) else None
        if not isinstance(request_id, str):
            request_id = None  # a malformed id is not echoed (replies carry str | None)
        try:
            request = check_request(data)
            text = self._handle(request, request_id)
        except Exception as exc:
            self._failed(request_id, exc)
        else:
            if text is not None:
                self._reply(request_id, ok=True, text=text)

    def _failed(self, request_id: str | None, exc: Exception) -> None:
        """The error reply for a request that failed."""
        if isinstance(exc, ProtocolError | ColletError):
            self._reply(request_id, ok=False, text=str(exc))
        else:  # a kernel-side bug must not take the comm down
            log.error("collet: sidebar request failed", exc_info=exc)
            self._reply(request_id, ok=False, text=f"internal error: {type(exc).__name__}: {exc}")

    def _handle(self, request: Any, request_id: str | None) -> str | None:
        """The reply's text, or None when a task replies later."""
        kind = request["type"]
        if kind == "notebook_reply":  # the answer to a notebook tool's request: no reply
            self.extension.notebook_tools.fronts.deliver(request)
            return None
        if kind == "hello":
            self.send_status()
            seen = request.get("seen")
            if self.cursor is not None:
                self.cursor.sync(seen if isinstance(seen, int) and seen >= 0 else 0)
            return "ok"
        if kind == "action":
            said = act(self.runner, dict(request), by="sidebar")
            if request["action"] == "retry" and said.startswith("retrying"):
                # The failed message and its retry, as one trace in the notebook.
                self._record(self.runner, str(request["message_id"]))
            return said
        if kind == "send":
            runner = self.extension.runner()
            msg = runner.send(
                request["text"], agent=request.get("agent"), model=request.get("model")
            )
            self._record(runner, msg.id)
            return f"sent as {msg.id}"
        outcome = self.extension.commands.run(parse_command(request["text"]), by="sidebar")
        later = outcome.later
        if later is None:
            return outcome.text

        async def finish() -> None:
            try:
                text = await later()
            except Exception as exc:
                self._failed(request_id, exc)
            else:
                self._reply(request_id, ok=True, text=text)

        # On the loop, never nested in it: the reply comes when the command is done.
        task = asyncio.ensure_future(finish())
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)
        return None

    def _record(self, runner: SessionRunner, message_id: str) -> None:
        """A message sent from the sidebar leaves a trace in the notebook too: when it has
        ended, the sidebar gets its transcript to put in a Markdown cell."""
        transcript = Transcript()

        def follow(_start: int, events: list[dict[str, Any]]) -> None:
            for event in events:
                transcript.add(event)
            if transcript.ended():
                cursor.close()
                self._send(
                    {"type": "transcript", "message_id": message_id,
                     "markdown": transcript.markdown()}
                )  # fmt: skip

        cursor = self.extension.feed(runner).cursor(follow, message_id)
        cursor.sync(0)

    def _reply(self, request_id: str | None, *, ok: bool, text: str) -> None:
        text = self.extension.redactor().text(text)  # errors may quote what was configured
        self._send({"type": "reply", "request_id": request_id, "ok": ok, "text": text})

    def _send(self, payload: dict[str, Any]) -> None:
        try:
            self.comm.send({"protocol_version": PROTOCOL_VERSION, **payload})
        except Exception:  # a closed comm: the sidebar is gone
            log.debug("collet: comm send failed", exc_info=True)
            self.detach()


_TASKS: set[asyncio.Future[None]] = set()  # strong references to commands still running


class SidebarTarget:
    """The ``collet`` comm target of one loaded extension, and the sidebars it connected."""

    def __init__(self, extension: ColletExtension) -> None:
        self.extension = extension
        self.bridges: list[Bridge] = []
        self._handler: Callable[[Any, dict[str, Any]], None] | None = None

    def register(self) -> None:
        """Register the comm target; the sidebar opens comms on it."""
        from comm import get_comm_manager

        def on_open(comm: Any, _msg: dict[str, Any]) -> None:
            # Maybe on a subshell thread: the handlers are registered here and now (a
            # request right behind the open must not find the comm deaf), while the bridge
            # is built on the main loop, queued before any request it will handle.
            made: list[Bridge] = []

            def make() -> None:
                made.append(Bridge(self.extension, comm, forget=self._forget))
                self.bridges.append(made[0])

            def handle(msg: dict[str, Any]) -> None:
                if made:
                    made[0].on_msg(msg)

            def closed(_msg: dict[str, Any]) -> None:
                if made:
                    made[0].close()

            on_main_thread(make)()
            comm.on_msg(on_main_thread(handle))
            comm.on_close(on_main_thread(closed))

        self.extension.on_runner(self._follow)
        self._handler = on_open
        get_comm_manager().register_target(COMM_TARGET, on_open)

    def _follow(self, channel: ChannelId, runner: SessionRunner) -> None:
        """The notebook got a new session (``/new``): every sidebar follows it."""
        if channel == self.extension.channel:
            for bridge in self.bridges:
                bridge.attach(runner)

    def _forget(self, bridge: Bridge) -> None:
        if bridge in self.bridges:
            self.bridges.remove(bridge)

    def unregister(self) -> None:
        """Remove the comm target and drop every bridge."""
        handler, self._handler = self._handler, None
        try:
            from comm import get_comm_manager

            if handler is not None:
                get_comm_manager().unregister_target(COMM_TARGET, handler)
        except Exception:  # not registered, or comm missing outside a kernel
            log.debug("collet: no comm target to unregister", exc_info=True)
        for bridge in self.bridges:
            bridge.detach()
        self.bridges.clear()
