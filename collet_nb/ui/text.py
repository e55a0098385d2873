"""A plain-text renderer of the event stream, for logs, headless runs and tests.

Answer text streams as it comes; everything else gets a line of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from collet_nb.core.events import (
    AnswerReset,
    ApprovalRequested,
    ApprovalResolved,
    ContextCompacted,
    ElicitationRequested,
    ElicitationResolved,
    ErrorRaised,
    Event,
    MessageStateChanged,
    Notice,
    PlanReady,
    PlanResolved,
    ReasoningDelta,
    RetryWaiting,
    TextDelta,
    ToolCallStarted,
    ToolResultReady,
    TurnFinished,
)
from collet_nb.core.images import image_line

RESULT_PREVIEW = 200


def _short(text: str, limit: int = RESULT_PREVIEW) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _args(arguments: str) -> str:
    try:
        return _short(json.dumps(json.loads(arguments), ensure_ascii=False), 120)
    except ValueError:
        return _short(arguments, 120)


def format_event(event: Event) -> str | None:  # noqa: PLR0911, PLR0912 - one per event type
    """One line for ``event`` (without newline), the raw text for deltas, None to skip it."""
    mid = event.message_id
    if isinstance(event, TextDelta):
        return event.text
    if isinstance(event, MessageStateChanged):
        why = f": {event.error}" if event.error else ""
        return f"[{mid} {event.state}{why}]"
    if isinstance(event, ToolCallStarted):
        return f"→ {event.name} {_args(event.arguments)}"
    if isinstance(event, ToolResultReady):
        mark = "✗" if event.is_error else "✓"
        said = [_short(event.content)] if event.content or not event.images else []
        shown = "; ".join(said + [image_line(i) for i in event.images])
        return f"{mark} {event.name} ({event.duration_s:.2f} s): {shown}"
    if isinstance(event, ApprovalRequested):
        return f"? {event.name} {_args(event.arguments)} waits for /allow or /deny"
    if isinstance(event, ApprovalResolved):
        return f"  {event.decision}" + (f": {event.reason}" if event.reason else "")
    if isinstance(event, ElicitationRequested):
        where = f" {event.url}" if event.url else ""
        return (
            f"? MCP server {event.server!r} asks ({event.elicitation_id}): {event.message}{where}"
            " — /answer {…} or /decline"
        )
    if isinstance(event, ElicitationResolved):
        sent = f": {event.content}" if event.content else ""
        return f"  {event.elicitation_id} {event.action}{sent}"
    if isinstance(event, PlanReady):
        return f"Plan ready (/approve or /reject):\n{event.plan}"
    if isinstance(event, PlanResolved):
        return "Plan approved" if event.approved else "Plan rejected"
    if isinstance(event, AnswerReset):
        return f"[answer restarted: {event.reason}]"
    if isinstance(event, RetryWaiting):
        return (
            f"[{event.reason}, retrying in {event.wait_s:.0f} s "
            f"(attempt {event.attempt} of {event.attempts})]"
        )
    if isinstance(event, ContextCompacted):
        return (
            f"[context compacted: {event.tokens_before} → {event.tokens_after} tokens, "
            f"{event.messages_removed} messages folded]"
        )
    if isinstance(event, ErrorRaised):
        return f"! {event.error}"
    if isinstance(event, Notice):
        return f"note: {event.text}"
    if isinstance(event, TurnFinished | ReasoningDelta):
        return None
    return None


class TextRenderer:
    """Writes events as text to ``write`` (e.g. ``sys.stdout.write`` or a list's append).

    Deltas are written as they come; other lines start on a fresh line.
    """

    def __init__(self, write: Callable[[str], object]) -> None:
        self._write = write
        self._at_line_start = True

    def __call__(self, event: Event) -> None:
        """Render one event (usable directly as a runner subscriber)."""
        text = format_event(event)
        if text is None:
            return
        if isinstance(event, TextDelta):
            self._write(text)
            self._at_line_start = text.endswith("\n")
            return
        self._write(("" if self._at_line_start else "\n") + text + "\n")
        self._at_line_start = True
