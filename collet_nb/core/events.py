"""The event vocabulary: what a session tells its views (widgets, sidebar, text, journal).

Events flow one way, runtime → renderers. Each is a frozen record with a ``type`` tag so it
serialises to the same JSON for the journal and the sidebar protocol.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any, ClassVar


class StopReason(StrEnum):
    """Why a turn ended."""

    ANSWERED = "answered"
    PLAN_READY = "plan_ready"
    MAX_ITERATIONS = "max_iterations"
    CIRCUIT_BREAKER = "circuit_breaker"
    TOKEN_BUDGET = "token_budget"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    ERROR = "error"


class Phase(StrEnum):
    """What the running turn is doing right now (for the status line)."""

    PREPARING = "preparing"  # starting MCP servers, finding skills
    THINKING = "thinking"
    STREAMING = "streaming"
    TOOL = "tool"
    AWAITING_APPROVAL = "awaiting_approval"
    COMPACTING = "compacting"
    IDLE = "idle"


_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """The fields of an event class, looked up once (``to_dict`` runs per streamed token)."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of all events: which message's turn it belongs to."""

    type: ClassVar[str] = "event"
    message_id: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, tagged with ``type``."""
        data = {"type": self.type}
        for name in _field_names(type(self)):
            value = getattr(self, name)
            data[name] = value.value if isinstance(value, Enum) else value
        return data


@dataclass(frozen=True, kw_only=True)
class MessageStateChanged(Event):
    """A message moved in its lifecycle (queued, running, answered, failed, cancelled)."""

    type: ClassVar[str] = "message_state"
    state: str
    error: str | None = None
    text: str = ""


@dataclass(frozen=True, kw_only=True)
class MessageStatus(Event):
    """What every view shows for a message: its lifecycle state, or what it waits for
    (``awaiting_approval``, ``awaiting_plan``); ``retried_by`` names the message retrying a
    failed one. Derived once, in the runtime, so a cell and the sidebar always agree."""

    type: ClassVar[str] = "message_status"
    status: str
    error: str | None = None
    retried_by: str = ""


@dataclass(frozen=True, kw_only=True)
class SessionChanged(Event):
    """A setting of the session changed (``message_id`` is ""): what the status line shows."""

    type: ClassVar[str] = "session"
    agent: str
    provider: str
    model: str
    approval: str
    streaming: str
    workspace: str


@dataclass(frozen=True, kw_only=True)
class TextDelta(Event):
    """A piece of the answer."""

    type: ClassVar[str] = "text_delta"
    text: str


@dataclass(frozen=True, kw_only=True)
class ReasoningDelta(Event):
    """A piece of the model's reasoning (shown apart, never part of the answer)."""

    type: ClassVar[str] = "reasoning_delta"
    text: str


@dataclass(frozen=True, kw_only=True)
class AnswerReset(Event):
    """The partial answer shown so far is void (the provider retried); views clear it."""

    type: ClassVar[str] = "answer_reset"
    reason: str


@dataclass(frozen=True, kw_only=True)
class RetryWaiting(Event):
    """A model request failed and will be tried again: views show "{reason}, retrying in N s
    (attempt {attempt} of {attempts})", counting down to ``until`` without more messages.

    Attributes:
        reason: a few words (``rate limited (HTTP 429)``, ``connection refused``).
        detail: the whole failure, one line (for a tooltip or the text view).
        wait_s: seconds of the wait, as the provider scheduled it.
        until: when the next attempt starts, in wall-clock seconds since the epoch
            (``time.time()``; ``Date.now() / 1000`` in a browser).
        attempt: the number of the attempt that comes next (2 for the first retry).
        attempts: the most attempts the request may make (the retry budget may end it first).
    """

    type: ClassVar[str] = "retry_wait"
    reason: str
    detail: str = ""
    wait_s: float
    until: float
    attempt: int
    attempts: int


@dataclass(frozen=True, kw_only=True)
class ToolCallStarted(Event):
    """The model asked for a tool call; it is about to be reviewed and run."""

    type: ClassVar[str] = "tool_call"
    call_id: str
    name: str
    arguments: str
    preview: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ToolResultReady(Event):
    """A tool call finished (or was refused): what the model will read."""

    type: ClassVar[str] = "tool_result"
    call_id: str
    name: str
    content: str
    is_error: bool
    duration_s: float = 0.0
    # The images it returned that a model can take (``Image.to_dict()`` each), for the card.
    images: list[dict[str, str]] = dataclasses.field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ApprovalRequested(Event):
    """A tool call waits for Allow once / Allow for session / Deny."""

    type: ClassVar[str] = "approval_requested"
    call_id: str
    name: str
    arguments: str
    preview: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ApprovalResolved(Event):
    """A pending tool call was allowed or denied; with the call's name and arguments, so the
    journal line alone says what the agent was allowed to do (the audit trail)."""

    type: ClassVar[str] = "approval_resolved"
    call_id: str
    decision: str
    reason: str = ""
    by: str = ""
    at: float = 0.0
    name: str = ""
    arguments: str = ""


@dataclass(frozen=True, kw_only=True)
class PlanReady(Event):
    """The architect's plan waits for Approve / Reject."""

    type: ClassVar[str] = "plan_ready"
    plan: str


@dataclass(frozen=True, kw_only=True)
class PlanResolved(Event):
    """The pending plan was approved or rejected; ``follow_up`` is the message that carries
    an approved plan out (every view of the plan can follow it, wherever it was approved)."""

    type: ClassVar[str] = "plan_resolved"
    approved: bool
    note: str = ""
    by: str = ""
    at: float = 0.0
    follow_up: str = ""


@dataclass(frozen=True, kw_only=True)
class StatusUpdate(Event):
    """Counters for the status line."""

    type: ClassVar[str] = "status"
    iteration: int
    prompt_tokens: int
    completion_tokens: int
    context_used: int
    context_budget: int
    cost_usd: float | None = None  # USD so far, where every request's price is known


@dataclass(frozen=True, kw_only=True)
class PhaseChanged(Event):
    """The running turn moved to another phase."""

    type: ClassVar[str] = "phase"
    phase: str


@dataclass(frozen=True, kw_only=True)
class ContextCompacted(Event):
    """Older conversation was folded into a summary to fit the budget."""

    type: ClassVar[str] = "compacted"
    tokens_before: int
    tokens_after: int
    messages_removed: int


@dataclass(frozen=True, kw_only=True)
class TurnFinished(Event):
    """A turn ended; ``stop_reason`` says why."""

    type: ClassVar[str] = "turn_finished"
    stop_reason: str
    iterations: int = 0


@dataclass(frozen=True, kw_only=True)
class ErrorRaised(Event):
    """Something went wrong in a turn; ``kind`` is the error class name."""

    type: ClassVar[str] = "error"
    error: str
    kind: str = ""


@dataclass(frozen=True, kw_only=True)
class Notice(Event):
    """Something the user should know that does not stop the turn (an MCP server that would
    not start, a skill that was skipped); ``level`` is ``info`` or ``warning``."""

    type: ClassVar[str] = "notice"
    text: str
    level: str = "warning"


@dataclass(frozen=True, kw_only=True)
class ToolProgress(Event):
    """A running tool call reported progress (an MCP server's ``notifications/progress``):
    ``progress`` so far, of ``total`` when known, with the server's ``message`` ("" if none).
    At most about five a second per call; not journaled."""

    type: ClassVar[str] = "tool_progress"
    call_id: str
    server: str
    progress: float
    total: float | None = None
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class ElicitationRequested(Event):
    """An MCP server asks the person something (``elicitation/create``): a small form of
    ``fields`` (``FormField.to_dict()`` each, see core/elicitation.py), or in ``url`` mode a
    link to open; it waits for Accept / Decline / Cancel. Nothing is sent without them."""

    type: ClassVar[str] = "elicitation_requested"
    elicitation_id: str
    server: str
    message: str
    mode: str = "form"  # form | url
    url: str = ""
    fields: list[dict[str, Any]] = dataclasses.field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ElicitationResolved(Event):
    """The person answered an elicitation: ``action`` ``accept`` (``content``: the JSON text
    sent to the server; "" for a URL), ``decline`` or ``cancel``; ``by`` as for approvals
    (``cancel``: the message was cancelled or its turn ended, ``server``: the server withdrew
    the request)."""

    type: ClassVar[str] = "elicitation_resolved"
    elicitation_id: str
    action: str
    content: str = ""
    by: str = ""
    at: float = 0.0
    server: str = ""


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        ToolProgress,
        ElicitationRequested,
        ElicitationResolved,
        MessageStateChanged,
        MessageStatus,
        SessionChanged,
        TextDelta,
        ReasoningDelta,
        AnswerReset,
        RetryWaiting,
        ToolCallStarted,
        ToolResultReady,
        ApprovalRequested,
        ApprovalResolved,
        PlanReady,
        PlanResolved,
        StatusUpdate,
        PhaseChanged,
        ContextCompacted,
        TurnFinished,
        ErrorRaised,
        Notice,
    )
}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from :meth:`Event.to_dict` output.

    Raises:
        ValueError: for an unknown ``type``.
    """
    cls = EVENT_TYPES.get(str(data.get("type")))
    if cls is None:
        raise ValueError(f"unknown event type {data.get('type')!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})
