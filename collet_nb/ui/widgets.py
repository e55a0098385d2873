"""The ipywidgets views: one message's live view (``MessageView``) and the session panel.

Thin subscribers: they render runner events through widget traits and call runner methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import Callable
from typing import Any, Protocol

import ipywidgets as widgets
from ipywidgets.widgets.widget_string import HTMLStyle

from collet_nb.core.events import (
    AnswerReset,
    ApprovalRequested,
    ApprovalResolved,
    ContextCompacted,
    ErrorRaised,
    Event,
    MessageStateChanged,
    Notice,
    PhaseChanged,
    PlanReady,
    PlanResolved,
    ReasoningDelta,
    StatusUpdate,
    TextDelta,
    ToolCallStarted,
    ToolResultReady,
    TurnFinished,
)
from collet_nb.core.kinds import StreamingLevel
from collet_nb.core.message import MessageState, UserMessage
from collet_nb.errors import ColletError, ConfigError
from collet_nb.ui.mainloop import on_main_thread
from collet_nb.ui.render import (
    approval_html,
    badge_html,
    error_html,
    escape,
    markdown_html,
    message_line_html,
    note_html,
    status_html,
    style_tag,
    tool_card_html,
)
from collet_nb.ui.stream import DeltaCoalescer, Scheduler, TimerHandle

log = logging.getLogger("collet_nb")

# Children per VBox in a growing list of widgets (see _Tree).
PAGE_SIZE = 16
TERMINAL = frozenset(s.value for s in MessageState if s.terminal)
DECISION_TEXT = {
    "allow_once": "allowed once",
    "allow_session": "allowed for this session",
    "deny": "denied",
}
# Events that change what the panel shows (deltas do not: they would rebuild it per token).
PANEL_EVENTS = (
    MessageStateChanged,
    PhaseChanged,
    StatusUpdate,
    ApprovalRequested,
    ApprovalResolved,
    PlanReady,
    PlanResolved,
    TurnFinished,
    ErrorRaised,
    ContextCompacted,
)


# ── what the views need from the runner ──


class MessageLogLike(Protocol):
    """The part of the session's message log the views read."""

    def get(self, message_id: str) -> UserMessage:
        """The message with ``message_id`` (KeyError if unknown)."""
        ...

    def last_failed(self) -> UserMessage | None:
        """The most recent failed message not retried yet."""
        ...


class SessionLike(Protocol):
    """The part of the session the views read."""

    @property
    def messages(self) -> MessageLogLike:
        """Every message with its state."""
        ...

    @property
    def streaming_level(self) -> StreamingLevel:
        """``compact`` (final answer only) or ``full`` (everything live)."""
        ...


class Controller(Protocol):
    """What the views call: :class:`collet_nb.runtime.runner.SessionRunner` fits."""

    @property
    def session(self) -> SessionLike:
        """The session the runner owns."""
        ...

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``listener`` with every event; returns the unsubscribe function."""
        ...

    def status(self) -> dict[str, Any]:
        """The ``collet_nb.status()`` dict."""
        ...

    def cancel(self) -> object:
        """Stop the running turn and cancel the queue."""
        ...

    def retry(self) -> UserMessage:
        """Send the last failed message again."""
        ...

    def remove(self, message_id: str) -> object:
        """Cancel one queued message."""
        ...

    def allow(self, call_id: str, *, for_session: bool = False, by: str = "button") -> object:
        """Allow a pending tool call."""
        ...

    def deny(self, call_id: str, reason: str = "", *, by: str = "button") -> object:
        """Deny a pending tool call."""
        ...

    def approve_plan(self, note: str = "", *, by: str = "button") -> UserMessage | None:
        """Approve the pending plan (returns the message that carries it out)."""
        ...

    def reject_plan(self, reason: str = "", *, by: str = "button") -> object:
        """Reject the pending plan."""
        ...


# ── small shared parts ──


class _Ran:
    """The handle of a callback that already ran (no loop to schedule it on)."""

    def cancel(self) -> None:
        pass


def loop_scheduler(delay: float, callback: Callable[[], None]) -> TimerHandle:
    """Run ``callback`` after ``delay`` on the running loop (at once when there is none)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        callback()
        return _Ran()
    return loop.call_later(delay, callback)


def _close_tree(widget: widgets.Widget) -> None:
    """Close ``widget``'s descendants (ipywidgets closes only the widget it is asked to)."""
    for child in tuple(getattr(widget, "children", ())):
        _close_tree(child)
        child.close()


def run_action(notice: widgets.HTML, action: Callable[[], object]) -> bool:
    """Run a button's action; show a ColletError's message (or another error with its
    traceback) in ``notice`` instead of raising. Returns whether it succeeded.

    Re-entrant: it keeps no state, so a click handled while another runs is safe.
    """
    notice.value = ""
    try:
        action()
    except ColletError as exc:
        notice.value = error_html(str(exc))
        return False
    except Exception as exc:  # a callback boundary: log it and show it, never lose it
        log.exception("collet: a button action failed")
        notice.value = error_html(f"{type(exc).__name__}: {exc}", traceback.format_exc())
        return False
    return True


def _button(description: str, *, style: str = "", tooltip: str = "") -> widgets.Button:
    return widgets.Button(
        description=description,
        button_style=style,
        tooltip=tooltip or description,
        layout=widgets.Layout(width="auto"),
    )


class _Tree:
    """Widgets appended in order under ``holder``, in a tree of VBoxes of at most
    ``PAGE_SIZE`` children each.

    A VBox re-sends its whole child list on every append, so a flat list costs O(items) per
    append (quadratic in all); the tree costs O(PAGE_SIZE × depth), depth = log16(items).
    """

    def __init__(self, holder: widgets.Box, layout: widgets.Layout) -> None:
        self.holder = holder
        self._layout = layout
        self._path: list[widgets.VBox] = []  # the open node of each level, leaf level first

    def append(self, widget: widgets.Widget, level: int = 0) -> None:
        """Add ``widget`` after everything appended before."""
        if level == len(self._path):
            node = widgets.VBox([widget], layout=self._layout)
            self._path.append(node)
            self.holder.children = (node,)
            return
        node = self._path[level]
        if len(node.children) < PAGE_SIZE:
            node.children = (*node.children, widget)
            return
        fresh = widgets.VBox([widget], layout=self._layout)
        self._path[level] = fresh
        if level + 1 < len(self._path):
            self.append(fresh, level + 1)
            return
        root = widgets.VBox([node, fresh], layout=self._layout)  # the full root moves down
        self._path.append(root)
        self.holder.children = (root,)

    def items(self) -> list[widgets.Widget]:
        """Everything appended, in order."""
        out: list[widgets.Widget] = []

        def walk(node: widgets.Widget, depth: int) -> None:
            for child in node.children:
                if depth == 0:
                    out.append(child)
                else:
                    walk(child, depth - 1)

        for root in self.holder.children:
            walk(root, len(self._path) - 1)
        return out

    def clear(self) -> None:
        """Remove (and close) everything."""
        _close_tree(self.holder)
        self.holder.children = ()
        self._path.clear()


class _StreamBox:
    """One stretch of streamed Markdown (an answer or reasoning): finished pieces in a
    :class:`_Tree`, then the live tail. It is the
    :class:`~collet_nb.ui.stream.AnswerSink` of its coalescer.
    """

    def __init__(self, *, schedule: Scheduler, live: bool) -> None:
        # One layout and style for every piece: each new widget would otherwise open two more.
        self._layout = widgets.Layout(margin="0")
        self._style = HTMLStyle()
        self.kind = "answer"
        self.attached = False
        self.note = widgets.HTML(layout=self._layout, style=self._style)
        self.pieces = _Tree(widgets.VBox(layout=self._layout), self._layout)
        self.tail = widgets.HTML(layout=self._layout, style=self._style)
        self.box = widgets.VBox([self.note, self.pieces.holder, self.tail])
        self.stream = DeltaCoalescer(self, schedule=schedule, live=live)

    def append_block(self, html: str) -> None:
        self.pieces.append(widgets.HTML(value=html, layout=self._layout, style=self._style))

    def set_tail(self, html: str) -> None:
        self.tail.value = html

    def clear(self) -> None:
        self.pieces.clear()
        self.tail.value = ""

    def restart(self, reason: str) -> None:
        self.stream.reset()
        self.note.value = note_html(f"answer restarted: {reason}")

    def html(self) -> str:
        """Everything this box shows, as one HTML string (tests and snapshots read it)."""
        blocks = [w.value for w in self.pieces.items()]
        return "".join([self.note.value, *blocks, self.tail.value])

    def close(self) -> None:
        self.stream.close()
        _close_tree(self.box)
        self.box.close()
        self._layout.close()
        self._style.close()


class ApprovalRow(widgets.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """A tool call waiting for the user: Allow once / Allow for session / Deny (+ reason).

    Args:
        runner: whose ``allow``/``deny`` the buttons call.
        call_id: the pending call.
        name: the tool's name.
        arguments: its JSON arguments.
    """

    def __init__(self, runner: Controller, *, call_id: str, name: str, arguments: str) -> None:
        self.runner = runner
        self.call_id = call_id
        self.call = widgets.HTML(approval_html(name, arguments))
        self.allow_once = _button("Allow once", style="success")
        self.allow_session = _button(
            "Allow for session", tooltip=f"Allow {name} without asking for the rest of the session"
        )
        self.deny = _button("Deny", style="danger")
        self.reason = widgets.Text(
            placeholder="reason for denying (optional; the model reads it)",
            layout=widgets.Layout(width="24em"),
        )
        self.outcome = widgets.HTML()
        self.notice = widgets.HTML()
        self.allow_once.on_click(
            on_main_thread(lambda _b: self._decide(allow=True, for_session=False))
        )
        self.allow_session.on_click(
            on_main_thread(lambda _b: self._decide(allow=True, for_session=True))
        )
        self.deny.on_click(on_main_thread(lambda _b: self._decide(allow=False, for_session=False)))
        self.buttons = widgets.HBox([self.allow_once, self.allow_session, self.deny, self.reason])
        super().__init__([self.call, self.buttons, self.outcome, self.notice])

    def _set_enabled(self, enabled: bool) -> None:
        for w in (self.allow_once, self.allow_session, self.deny, self.reason):
            w.disabled = not enabled

    def _decide(self, *, allow: bool, for_session: bool) -> None:
        self._set_enabled(False)  # a second click while this one runs does nothing

        def act() -> None:
            if allow:
                self.runner.allow(self.call_id, for_session=for_session, by="button")
            else:
                self.runner.deny(self.call_id, self.reason.value.strip(), by="button")

        if not run_action(self.notice, act):
            self._set_enabled(True)

    def resolved(self, decision: str, reason: str = "", by: str = "") -> None:
        """Show how the call was decided (by anyone: button, slash command, sidebar)."""
        self._set_enabled(False)
        self.buttons.layout.display = "none"
        self.outcome.value = note_html(decided(DECISION_TEXT.get(decision, decision), reason, by))

    def expired(self, why: str) -> None:
        """The call no longer waits (the turn ended)."""
        self._set_enabled(False)
        self.buttons.layout.display = "none"
        self.outcome.value = note_html(why)


def decided(what: str, reason: str, by: str) -> str:
    """``what: reason (by button, 14:03:07)``: a decision as the audit trail of a shared
    notebook keeps it (who decided and when)."""
    who = f"by {by}, " if by else ""
    return f"{what}{': ' + reason if reason else ''} ({who}{time.strftime('%H:%M:%S')})"


class PlanBox(widgets.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """The architect's plan waiting for Approve / Reject (with a note).

    Args:
        runner: whose ``approve_plan``/``reject_plan`` the buttons call.
        plan: the plan's text to show (None when it is already shown above, as the answer).
        on_approved: called with the id of the message that carries the plan out.
    """

    def __init__(
        self,
        runner: Controller,
        *,
        plan: str | None = None,
        on_approved: Callable[[str], None] | None = None,
    ) -> None:
        self.runner = runner
        self._on_approved = on_approved
        intro = "<b>The plan waits for your decision.</b>"
        if plan is not None:
            intro += f"<details open><summary>plan</summary>{markdown_html(plan)}</details>"
        self.text = widgets.HTML(intro)
        self.note = widgets.Text(
            placeholder="note or reason (optional)", layout=widgets.Layout(width="24em")
        )
        self.approve = _button("Approve", style="success", tooltip="Carry the plan out")
        self.reject = _button("Reject", style="danger", tooltip="Do not carry the plan out")
        self.outcome = widgets.HTML()
        self.notice = widgets.HTML()
        self.approve.on_click(on_main_thread(lambda _b: self._decide(approve=True)))
        self.reject.on_click(on_main_thread(lambda _b: self._decide(approve=False)))
        self.buttons = widgets.HBox([self.approve, self.reject, self.note])
        super().__init__([self.text, self.buttons, self.outcome, self.notice])

    def _set_enabled(self, enabled: bool) -> None:
        for w in (self.approve, self.reject, self.note):
            w.disabled = not enabled

    def _decide(self, *, approve: bool) -> None:
        self._set_enabled(False)
        note = self.note.value.strip()
        started: list[UserMessage] = []

        def act() -> None:
            if approve:
                msg = self.runner.approve_plan(note, by="button")
                if msg is not None:
                    started.append(msg)
            else:
                self.runner.reject_plan(note, by="button")

        if not run_action(self.notice, act):
            self._set_enabled(True)
            return
        if started and self._on_approved is not None:
            self._on_approved(started[0].id)

    def resolved(self, approved: bool, note: str = "", by: str = "") -> None:
        """Show the decision (by anyone)."""
        self._set_enabled(False)
        self.buttons.layout.display = "none"
        what = "plan approved" if approved else "plan rejected"
        self.outcome.value = note_html(decided(what, note, by))


# ── one message ──


class MessageView(widgets.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """The live view of one message: state badge, streamed answer, tool cards, reasoning,
    approvals, the error with Retry, and Cancel.

    Subscribes to ``runner``'s events (those of ``message_id``; and new messages, to notice a
    retry of this one). Calls ``runner.cancel()`` / ``remove()`` / ``retry()`` / ``allow()`` /
    ``deny()`` / ``approve_plan()`` / ``reject_plan()``. ``close()`` unsubscribes.

    Args:
        runner: the session's runner.
        message_id: the message to show.
        schedule: timer for coalescing deltas (default: the running loop's ``call_later``).

    Raises:
        ConfigError: when the session has no such message.
    """

    def __init__(
        self, runner: Controller, message_id: str, *, schedule: Scheduler | None = None
    ) -> None:
        try:
            message = runner.session.messages.get(message_id)
        except KeyError:
            raise ConfigError(f"no message {message_id} in this session") from None
        self.runner = runner
        self.message_id = message_id
        self._schedule: Scheduler = schedule or loop_scheduler
        self._segment: _StreamBox | None = None
        self._segment_kind = ""
        self._boxes: list[_StreamBox] = []
        self._cards: dict[str, tuple[str, str, widgets.HTML]] = {}
        self._rows: dict[str, ApprovalRow] = {}
        self._plan: PlanBox | None = None
        self._followed: set[str] = set()
        self._state = message.state.value
        self._phase = ""
        self._closed = False

        self.notice = widgets.HTML()
        self.style_html = widgets.HTML(style_tag(), layout=widgets.Layout(display="none"))
        self.badge = widgets.HTML()
        self.cancel_button = _button(
            "Cancel",
            tooltip="Queued: remove this message. Running: stop the turn and, like /cancel, "
            "the queue behind it",
        )
        self.retry_button = _button("Retry", style="warning", tooltip="Send this message again")
        self.retry_button.layout.display = "none"
        self.cancel_button.on_click(
            on_main_thread(lambda _b: run_action(self.notice, self._cancel))
        )
        self.retry_button.on_click(on_main_thread(lambda _b: run_action(self.notice, self._retry)))
        self.timeline = widgets.VBox()
        self._timeline = _Tree(self.timeline, widgets.Layout(margin="0"))
        self.error = widgets.HTML()
        self.approvals = widgets.VBox()
        self.followups = widgets.VBox()
        header = widgets.HBox([self.badge, self.cancel_button, self.retry_button])
        super().__init__(
            [
                self.style_html,
                header,
                self.timeline,
                self.error,
                self.approvals,
                self.notice,
                self.followups,
            ]
        )
        self.add_class("collet-message")
        self._show_state(message.state.value, message.error)
        self._unsubscribe: Callable[[], None] | None = runner.subscribe(self._on_event)

    # ── reading ──

    @property
    def state(self) -> str:
        """The message state shown."""
        return self._state

    def items(self) -> list[widgets.Widget]:
        """The timeline in order: answer and reasoning boxes, tool cards, notes."""
        return self._timeline.items()

    def answer_html(self) -> str:
        """Everything the answer and reasoning boxes show, as one HTML string."""
        return "".join(box.html() for box in self._boxes if box.attached)

    def tool_cards(self) -> dict[str, str]:
        """The HTML of each tool call's card, by call id."""
        return {call_id: card.value for call_id, (_n, _a, card) in self._cards.items()}

    # ── events ──

    def _compact(self) -> bool:
        return self.runner.session.streaming_level is StreamingLevel.COMPACT

    def _on_event(self, event: Event) -> None:  # noqa: PLR0912 - one branch per event type
        if self._closed:
            return
        if event.message_id != self.message_id:
            if isinstance(event, MessageStateChanged) and event.state == "queued":
                self._notice_retry(event.message_id)
            return
        if isinstance(event, TextDelta):
            self._stream("answer").feed(event.text)
        elif isinstance(event, ReasoningDelta):
            if not self._compact():
                self._stream("reasoning").feed(event.text)
        elif isinstance(event, MessageStateChanged):
            self._show_state(event.state, event.error)
        elif isinstance(event, PhaseChanged):
            self._phase = event.phase
            self._show_badge()
        elif isinstance(event, AnswerReset):
            self._answer_box().restart(event.reason)
        elif isinstance(event, ToolCallStarted):
            self._end_segment(intermediate=True)
            self._add_card(event)
        elif isinstance(event, ToolResultReady):
            self._update_card(
                event.call_id, result=event.content, is_error=event.is_error, d=event.duration_s
            )
        elif isinstance(event, ApprovalRequested):
            self._ask_approval(event)
        elif isinstance(event, ApprovalResolved):
            self._approval_resolved(event)
        elif isinstance(event, PlanReady):
            self._show_plan()
        elif isinstance(event, PlanResolved):
            if self._plan is not None:
                self._plan.resolved(event.approved, event.note, event.by)
            if event.follow_up:  # approved here, in the sidebar or by command: show it run
                self._follow(event.follow_up)
        elif isinstance(event, ContextCompacted):
            self._end_segment()
            self._append(
                widgets.HTML(
                    note_html(
                        f"context compacted: {event.tokens_before:,} → {event.tokens_after:,} "
                        f"tokens ({event.messages_removed} messages folded)"
                    )
                )
            )
        elif isinstance(event, ErrorRaised):
            self.error.value = error_html(event.error)
        elif isinstance(event, Notice):
            self._end_segment()
            self._append(widgets.HTML(note_html(event.text)))
        elif isinstance(event, TurnFinished):
            self._end_segment()

    def _append(self, widget: widgets.Widget) -> None:
        self._timeline.append(widget)

    def _stream(self, kind: str) -> DeltaCoalescer:
        box = self._answer_box() if kind == "answer" else self._reasoning_box()
        box.stream.live = kind != "answer" or not self._compact()
        if box.stream.live:
            self._attach(box)
        return box.stream

    def _answer_box(self) -> _StreamBox:
        if self._segment is None or self._segment_kind != "answer":
            self._new_segment("answer")
        assert self._segment is not None
        return self._segment

    def _reasoning_box(self) -> _StreamBox:
        if self._segment is None or self._segment_kind != "reasoning":
            self._new_segment("reasoning")
        assert self._segment is not None
        return self._segment

    def _new_segment(self, kind: str) -> None:
        self._end_segment()
        box = _StreamBox(schedule=self._schedule, live=True)
        box.kind = kind
        self._segment, self._segment_kind = box, kind
        self._boxes.append(box)

    def _attach(self, box: _StreamBox) -> None:
        # Compact keeps a segment off screen until it is known to be the final answer.
        if box.attached:
            return
        box.attached = True
        if box.kind == "reasoning":
            # Reasoning stays folded; an Accordion keeps the reader's open/closed choice
            # while it streams (a <details> in an HTML value would snap shut on each update).
            self._append(widgets.Accordion([box.box], titles=("reasoning",), selected_index=None))
        else:
            self._append(box.box)

    def _end_segment(self, *, intermediate: bool = False) -> None:
        box, self._segment, self._segment_kind = self._segment, None, ""
        if box is None:
            return
        if intermediate and not box.attached:
            # Compact shows the final answer only: text before a tool call is not it.
            self._boxes.remove(box)
            box.close()
            return
        box.stream.finish()
        self._attach(box)

    def _add_card(self, event: ToolCallStarted) -> None:
        if self._compact():
            return
        card = widgets.HTML(
            tool_card_html(name=event.name, arguments=event.arguments, waiting="running")
        )
        self._cards[event.call_id] = (event.name, event.arguments, card)
        self._append(card)

    def _update_card(
        self,
        call_id: str,
        *,
        result: str | None = None,
        is_error: bool = False,
        d: float | None = None,
        waiting: str = "",
    ) -> None:
        if call_id not in self._cards:
            return
        name, arguments, card = self._cards[call_id]
        card.value = tool_card_html(
            name=name,
            arguments=arguments,
            result=result,
            is_error=is_error,
            duration_s=d,
            waiting=waiting,
        )

    def _ask_approval(self, event: ApprovalRequested) -> None:
        self._update_card(event.call_id, waiting="waiting for approval")
        if event.call_id in self._rows:
            return
        row = ApprovalRow(
            self.runner, call_id=event.call_id, name=event.name, arguments=event.arguments
        )
        self._rows[event.call_id] = row
        self.approvals.children = (*self.approvals.children, row)

    def _approval_resolved(self, event: ApprovalResolved) -> None:
        verdict = DECISION_TEXT.get(event.decision, event.decision)
        self._update_card(event.call_id, waiting="running" if event.decision != "deny" else verdict)
        row = self._rows.get(event.call_id)
        if row is not None:
            row.resolved(event.decision, event.reason, event.by)

    def _show_plan(self) -> None:
        if self._plan is not None:
            return  # a reminder of the same plan
        self._end_segment()
        self._plan = PlanBox(self.runner, on_approved=self._follow)
        self.approvals.children = (*self.approvals.children, self._plan)

    # ── state ──

    def _show_badge(self) -> None:
        phase = self._phase if self._state == "running" else ""
        self.badge.value = (
            f"<code>{escape(self.message_id)}</code> {badge_html(self._state, phase)}"
        )

    def _show_state(self, state: str, error: str | None) -> None:
        self._state = state
        terminal = state in TERMINAL
        if terminal:
            self._phase = ""
            self._end_segment()
            for row in self._rows.values():
                if row.buttons.layout.display != "none":
                    row.expired(f"no longer waiting: the message was {state}")
        self._show_badge()
        self.cancel_button.disabled = terminal
        if state == "failed":
            self.error.value = error_html(error or "the turn failed")
            self.retry_button.layout.display = ""
        elif state == "cancelled":
            self.error.value = note_html(error or "cancelled")

    def _notice_retry(self, other_id: str) -> None:
        with contextlib.suppress(KeyError):
            if self.runner.session.messages.get(other_id).retry_of == self.message_id:
                self.retry_button.disabled = True
                self.notice.value = note_html(f"retried as {other_id}")

    # ── actions ──

    def _cancel(self) -> None:
        state = self.runner.session.messages.get(self.message_id).state
        if state is MessageState.QUEUED:
            self.runner.remove(self.message_id)
        elif state is MessageState.RUNNING:
            self.runner.cancel()

    def _retry(self) -> None:
        last = self.runner.session.messages.last_failed()
        if last is None or last.id != self.message_id:
            newer = f" ({last.id} failed after it)" if last is not None else ""
            raise ConfigError(
                f"{self.message_id} cannot be retried from here{newer}: only the most recent "
                "failed message that was not retried yet can; use `%collet /retry` for it"
            )
        self.retry_button.disabled = True
        retried = self.runner.retry()
        self._follow(retried.id)
        self.notice.value = note_html(f"retried as {retried.id}")

    def _follow(self, message_id: str) -> None:
        """Show the live view of a message this one started (its retry, its approved plan),
        once, however many paths announce it."""
        if message_id in self._followed:
            return
        view = MessageView(self.runner, message_id, schedule=self._schedule)
        self._followed.add(message_id)
        self.followups.children = (*self.followups.children, view)

    def close(self) -> None:
        """Unsubscribe, stop timers, close every widget of the view."""
        if getattr(self, "_closed", True):
            super().close()
            return
        self._closed = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for box in self._boxes:
            box.close()
        _close_tree(self)
        super().close()


# ── the session ──


def _settled(status: dict[str, Any]) -> dict[str, Any]:
    """``status`` as it is about to be: a session still marked running after its last message
    ended is idle (the runner settles it right after that message's final event, and sends no
    event of its own for that)."""
    running = any(m.get("state") == "running" for m in status.get("messages", ()))
    if status.get("state") == "running" and not running:
        return {**status, "state": "idle", "busy": False}
    return status


class SessionPanel(widgets.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """The session at a glance: status line, the queue (✕ removes one), pending approvals and
    plan (with their buttons), Cancel.

    Subscribes to ``runner``'s events and re-reads ``runner.status()`` on every event but
    deltas. Calls ``runner.remove()`` / ``cancel()`` / ``allow()`` / ``deny()`` /
    ``approve_plan()`` / ``reject_plan()``. ``close()`` unsubscribes.
    """

    def __init__(self, runner: Controller, *, schedule: Scheduler | None = None) -> None:
        self.runner = runner
        self._schedule: Scheduler = schedule or loop_scheduler
        self._phase = ""
        self._queue_rows: dict[str, widgets.HBox] = {}
        self._rows: dict[str, ApprovalRow] = {}
        self._plan: PlanBox | None = None
        self._closed = False
        self.notice = widgets.HTML()
        self.style_html = widgets.HTML(style_tag(), layout=widgets.Layout(display="none"))
        self.status_line = widgets.HTML()
        self.cancel_button = _button("Cancel all", tooltip="Stop the turn and empty the queue")
        self.cancel_button.on_click(
            on_main_thread(lambda _b: run_action(self.notice, self._cancel))
        )
        self.queue = widgets.VBox()
        self.approvals = widgets.VBox()
        self.followups = widgets.VBox()
        super().__init__(
            [
                self.style_html,
                widgets.HBox([self.status_line, self.cancel_button]),
                self.queue,
                self.approvals,
                self.notice,
                self.followups,
            ]
        )
        self.add_class("collet-panel")
        self.refresh()
        self._unsubscribe: Callable[[], None] | None = runner.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        if self._closed:
            return
        if isinstance(event, PhaseChanged):
            self._phase = event.phase
        if isinstance(event, PANEL_EVENTS):
            self.refresh()

    def refresh(self) -> None:
        """Show the runner's current status."""
        status = _settled(self.runner.status())
        if not status.get("busy"):
            self._phase = ""
        self.status_line.value = status_html(status, phase=self._phase)
        messages = status.get("messages", [])
        queued = [m for m in messages if m.get("state") == "queued"]
        self.cancel_button.disabled = not status.get("busy") and not queued
        self._sync_queue(queued)
        self._sync_approvals(status.get("pending_tools", []), status.get("pending_plan"))

    def _sync_queue(self, queued: list[dict[str, Any]]) -> None:
        ids = [m["id"] for m in queued]
        if ids == list(self._queue_rows):
            return
        rows: dict[str, widgets.HBox] = {}
        for m in queued:
            row = self._queue_rows.pop(m["id"], None)
            if row is None:
                remove = _button("✕", tooltip=f"Remove {m['id']} from the queue")
                remove.on_click(
                    on_main_thread(
                        lambda _b, mid=m["id"]: run_action(self.notice, lambda: self._remove(mid))
                    )
                )
                row = widgets.HBox([remove, widgets.HTML(message_line_html(m["id"], m["text"]))])
            rows[m["id"]] = row
        for gone in self._queue_rows.values():
            _close_tree(gone)
            gone.close()
        self._queue_rows = rows
        self.queue.children = tuple(rows.values())

    def _sync_approvals(self, pending: list[dict[str, Any]], plan: str | None) -> None:
        waiting = {p["call_id"]: p for p in pending}
        changed = False
        for call_id in [c for c in self._rows if c not in waiting]:
            row = self._rows.pop(call_id)
            _close_tree(row)
            row.close()
            changed = True
        for call_id, p in waiting.items():
            if call_id not in self._rows:
                self._rows[call_id] = ApprovalRow(
                    self.runner, call_id=call_id, name=p["name"], arguments=p["arguments"]
                )
                changed = True
        if plan is None and self._plan is not None:
            _close_tree(self._plan)
            self._plan.close()
            self._plan = None
            changed = True
        elif plan is not None and self._plan is None:
            self._plan = PlanBox(self.runner, plan=plan, on_approved=self._follow)
            changed = True
        if changed:
            boxes: list[widgets.Widget] = list(self._rows.values())
            if self._plan is not None:
                boxes.append(self._plan)
            self.approvals.children = tuple(boxes)

    def _remove(self, message_id: str) -> None:
        self.runner.remove(message_id)
        self.refresh()

    def _cancel(self) -> None:
        self.runner.cancel()
        self.refresh()

    def _follow(self, message_id: str) -> None:
        view = MessageView(self.runner, message_id, schedule=self._schedule)
        self.followups.children = (*self.followups.children, view)
        self.refresh()

    def close(self) -> None:
        """Unsubscribe and close every widget of the panel."""
        if getattr(self, "_closed", True):
            super().close()
            return
        self._closed = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        _close_tree(self)
        super().close()
