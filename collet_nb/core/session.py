"""One agent session bound to a channel (a notebook): its settings, conversation, messages,
busy state, pending plan, notify cooldown, suppression and session approvals.

The session is plain state; the runtime's runner is the only thing that mutates it while a
turn runs. Time is passed in (``now``, monotonic seconds) so the core never reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from collet_nb.core.context import ConversationContext
from collet_nb.core.images import Image
from collet_nb.core.kinds import StreamingLevel, WorkspaceScope
from collet_nb.core.message import MessageLog, MessageState, UserMessage
from collet_nb.core.plan import PendingPlan
from collet_nb.errors import IllegalTransition


class SessionState(StrEnum):
    """What the session is doing, as ``status()['state']`` reports it."""

    IDLE = "idle"
    RUNNING = "running"
    AWAITING_APPROVAL = "awaiting_approval"
    AWAITING_PLAN = "awaiting_plan"


SESSION_MOVES: dict[SessionState, frozenset[SessionState]] = {
    SessionState.IDLE: frozenset({SessionState.RUNNING}),
    SessionState.RUNNING: frozenset(
        {SessionState.IDLE, SessionState.AWAITING_APPROVAL, SessionState.AWAITING_PLAN}
    ),
    SessionState.AWAITING_APPROVAL: frozenset({SessionState.RUNNING, SessionState.IDLE}),
    SessionState.AWAITING_PLAN: frozenset({SessionState.RUNNING, SessionState.IDLE}),
}

BUSY_STATES = frozenset({SessionState.RUNNING, SessionState.AWAITING_APPROVAL})


@dataclass(kw_only=True)
class AgentSession:
    """A single agent session bound to a channel.

    Attributes:
        session_id: unique id (journal file name).
        project_dir: the directory the session works on.
        context: the conversation (moved to the loop during a turn, always returned).
        streaming_level: how much the views show live.
        workspace_scope: where file tools may reach.
        model_override: a model set with ``/model`` (None = the configured default).
        agent_override: an agent set with ``/agent`` (None = ``code``).
        state: the session's lifecycle state (``busy`` derives from it).
        last_activity: monotonic seconds of the last activity (for stale eviction).
        pending_plan: an architect plan awaiting approval.
        last_notified_at: when a pending-plan reminder was last sent (cooldown).
        session_approvals: tool names the user allowed for the whole session.
        messages: every message, with its state; the queue derives from it.
        suppressed: when True, output of the current turn is dropped (after cancel or switch).
    """

    session_id: str
    project_dir: str
    context: ConversationContext
    streaming_level: StreamingLevel = StreamingLevel.FULL
    workspace_scope: WorkspaceScope = WorkspaceScope.PROJECT
    model_override: str | None = None
    agent_override: str | None = None
    state: SessionState = SessionState.IDLE
    last_activity: float = 0.0
    pending_plan: PendingPlan | None = None
    last_notified_at: float | None = None
    session_approvals: set[str] = field(default_factory=set)
    messages: MessageLog = field(default_factory=MessageLog)
    suppressed: bool = False

    @property
    def busy(self) -> bool:
        """Whether an agent turn is executing (running or waiting on a tool approval)."""
        return self.state in BUSY_STATES

    def move(self, state: SessionState) -> None:
        """Move the session to ``state`` (IllegalTransition if the table forbids it)."""
        if state is self.state:
            return
        if state not in SESSION_MOVES[self.state]:
            raise IllegalTransition(machine="session", source=self.state.value, target=state.value)
        self.state = state

    def touch(self, now: float) -> None:
        """Record activity at ``now``."""
        self.last_activity = now

    def idle_secs(self, now: float) -> float:
        """Seconds since the last activity."""
        return max(0.0, now - self.last_activity)

    def should_notify(self, now: float, cooldown_secs: float) -> bool:
        """Whether a pending-plan reminder may be sent now; records the send when True."""
        if self.last_notified_at is None or now - self.last_notified_at >= cooldown_secs:
            self.last_notified_at = now
            return True
        return False

    # ── the message queue (derived from the message log) ──

    def enqueue(
        self,
        text: str,
        *,
        agent: str | None = None,
        model: str | None = None,
        retry_of: str | None = None,
        cell_key: str | None = None,
        images: tuple[Image, ...] = (),
    ) -> UserMessage:
        """Accept a message: it is queued until its turn."""
        return self.messages.add(
            UserMessage(
                id=self.messages.next_id,
                seq=self.messages.next_seq,
                text=text,
                agent=agent,
                model=model,
                retry_of=retry_of,
                cell_key=cell_key,
                images=images,
            )
        )

    def queue(self) -> tuple[UserMessage, ...]:
        """Messages waiting for their turn, oldest first."""
        return self.messages.queued()

    def drain_next(self) -> UserMessage | None:
        """Take the oldest queued message and mark it running (FIFO); None when empty."""
        queued = self.messages.queued()
        if not queued:
            return None
        return self.messages.move(queued[0].id, MessageState.RUNNING)

    def suppress(self) -> None:
        """Drop further output of the current turn."""
        self.suppressed = True
