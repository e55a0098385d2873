"""Pending tool approvals as futures keyed by (session, call id).

The agent loop awaits ``review``; buttons and slash commands resolve the future with
allow once / allow for session / deny. Nothing here blocks a cell: the background turn is
what waits. ``cancel_all`` denies everything pending (the turn is being cancelled).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from collet_nb.core.approval import needs_approval
from collet_nb.core.chat import ToolCall, ToolSpec
from collet_nb.core.events import ApprovalRequested, ApprovalResolved, Event
from collet_nb.core.kinds import ApprovalMode
from collet_nb.core.policy import Policy
from collet_nb.core.ports import Decision, Verdict
from collet_nb.core.preview import summary
from collet_nb.core.session import AgentSession, SessionState
from collet_nb.errors import UsageError


@dataclass(kw_only=True)
class PendingCall:
    """A tool call waiting for the user."""

    message_id: str
    call: ToolCall
    future: asyncio.Future[tuple[Decision, str, str]]


class ApprovalGate:
    """The approver of one session.

    Args:
        session: the session (its state shows ``awaiting_approval`` while a call waits, and
            its ``session_approvals`` remembers "allow for session").
        mode: returns the approval mode in force (it can change at run time).
        emit: publishes ApprovalRequested / ApprovalResolved.

    Attributes:
        policy: the session's policy (policy.toml): its deny-list refuses calls without
            asking, its allow-list lets them run without asking.
    """

    def __init__(
        self,
        *,
        session: AgentSession,
        mode: Callable[[], ApprovalMode],
        emit: Callable[[Event], None],
        now: Callable[[], float] = time.time,
    ) -> None:
        self.session = session
        self.mode = mode
        self.emit = emit
        self.now = now
        self.policy = Policy()
        # The preview of a call (what it will do), for the approval request; the runner
        # keeps the one its loop computed.
        self.preview_of: Callable[[ToolCall], dict[str, Any]] = lambda _call: {}
        self._pending: dict[tuple[str, str], PendingCall] = {}

    async def review(self, message_id: str, call: ToolCall, spec: ToolSpec | None) -> Verdict:
        """Allow at once, or wait for the user's decision (a policy's lists come first)."""
        if self.policy.denies(call.name):
            return Verdict(
                allowed=False,
                reason=f"the policy ({self.policy.denied_by(call.name)}) forbids {call.name}",
            )
        if (
            spec is None
            or self.policy.allows(call.name)
            or not needs_approval(
                # The policy has the last word, whatever the settings say now.
                mode=self.policy.approval_for(self.mode()),
                spec=spec,
                session_allowed=self.session.session_approvals,
            )
        ):
            return Verdict(allowed=True)
        return await self.ask(message_id, call)

    async def ask(self, message_id: str, call: ToolCall) -> Verdict:
        """Wait for the user's decision on ``call``, whatever the mode (the token budget asks
        this way too)."""
        key = (self.session.session_id, call.id)
        future: asyncio.Future[tuple[Decision, str, str]] = (
            asyncio.get_running_loop().create_future()
        )
        self._pending[key] = PendingCall(message_id=message_id, call=call, future=future)
        self.session.move(SessionState.AWAITING_APPROVAL)
        self.emit(
            ApprovalRequested(
                message_id=message_id,
                call_id=call.id,
                name=call.name,
                arguments=call.arguments,
                preview=self.preview_of(call),
            )
        )
        try:
            decision, reason, by = await future
        finally:
            self._release(key)
        if decision is Decision.ALLOW_SESSION:
            self.session.session_approvals.add(call.name)
        self.emit(
            ApprovalResolved(
                message_id=message_id,
                call_id=call.id,
                decision=decision.value,
                reason=reason,
                by=by,
                at=self.now(),
                name=call.name,
                arguments=call.arguments,
            )
        )
        return Verdict(allowed=decision is not Decision.DENY, reason=reason)

    def resolve(
        self, call_id: str | None, decision: Decision, reason: str = "", by: str = ""
    ) -> str:
        """Decide the pending call ``call_id`` (None = the oldest); return its id.

        Raises:
            UsageError: when no such call is waiting.
        """
        pending = self._find(call_id)
        self._settle(pending, decision, reason, by)
        return pending.call.id

    def _settle(self, pending: PendingCall, decision: Decision, reason: str, by: str) -> None:
        # Release at once, so status() shows the decision before the turn resumes.
        self._release((self.session.session_id, pending.call.id))
        if not pending.future.done():
            pending.future.set_result((decision, reason, by))

    def _release(self, key: tuple[str, str]) -> None:
        self._pending.pop(key, None)
        if self.session.state is SessionState.AWAITING_APPROVAL and not self._pending:
            self.session.move(SessionState.RUNNING)

    def _find(self, call_id: str | None) -> PendingCall:
        if call_id is None:
            if not self._pending:
                raise UsageError("no tool call is waiting for approval")
            return next(iter(self._pending.values()))
        pending = self._pending.get((self.session.session_id, call_id))
        if pending is None:
            waiting = ", ".join(k[1] for k in self._pending) or "none"
            raise UsageError(
                f"tool call {call_id} is not waiting for approval (waiting: {waiting})"
            )
        return pending

    def cancel_all(self, reason: str) -> None:
        """Deny every pending call with ``reason``."""
        for pending in tuple(self._pending.values()):
            self._settle(pending, Decision.DENY, reason, "cancel")

    def waits_on(self, message_id: str) -> bool:
        """Whether a call of ``message_id`` waits for a decision."""
        return any(p.message_id == message_id for p in self._pending.values())

    def pending_tools(self) -> list[dict[str, Any]]:
        """The waiting calls, oldest first, as ``status()['pending_tools']`` lists them."""
        return [
            {
                "call_id": p.call.id,
                "name": p.call.name,
                "arguments": p.call.arguments,
                "summary": summary(self.preview_of(p.call), p.call.arguments),
                "message_id": p.message_id,
            }
            for p in self._pending.values()
        ]
