"""The per-session runner: the zero-drop queue and the one-turn-at-a-time drain.

``send`` journals a message (durably) before anything else, then queues it; one drain task
runs turns strictly FIFO. Every accepted message ends in exactly one visible terminal state:
answered, failed (with the reason, retryable) or cancelled (explicitly, never silently). A
failure does not stop the queue. Events go to the journal and to every subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from collet_nb.adapters.prices import make_pricer
from collet_nb.core.answers import AnswerStore, SavedAnswer, answer_key, written_paths
from collet_nb.core.chat import ChatMessage, ToolCall, ToolSpec
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
    MessageStatus,
    Notice,
    Phase,
    PhaseChanged,
    PlanReady,
    PlanResolved,
    ReasoningDelta,
    SessionChanged,
    StopReason,
    TextDelta,
    ToolCallStarted,
    ToolResultReady,
    TurnFinished,
)
from collet_nb.core.guard import Guard
from collet_nb.core.images import Image
from collet_nb.core.kinds import AgentKind, StreamingLevel
from collet_nb.core.message import MessageState, UserMessage, shown_status
from collet_nb.core.plan import PendingPlan, PlanState
from collet_nb.core.ports import Clock, Decision, Journal, Provider, ToolPort, ToolSource, as_source
from collet_nb.core.preview import GenericPreviewer, Previewer
from collet_nb.core.redact import EventScrubber, Redactor
from collet_nb.core.replay import state_record
from collet_nb.core.session import AgentSession, SessionState
from collet_nb.core.settings import Settings
from collet_nb.errors import ColletError, ConfigError, GuardStop, TurnTimeout, UsageError
from collet_nb.runtime.approvals import ApprovalGate
from collet_nb.runtime.elicitations import ElicitationDesk
from collet_nb.runtime.loop import AgentLoop, TokenCounter
from collet_nb.runtime.prompts import system_prompt
from collet_nb.runtime.sampling import Sampler

log = logging.getLogger("collet_nb")

Listener = Callable[[Event], None]

CANCELLED_BY_USER = "cancelled by the user"
# The pseudo tool call a policy's token budget asks through (Allow / Deny, like a tool).
BUDGET_TOOL = "token_budget"
COST_TOOL = "cost_budget"
# Seconds between reminders that a plan waits (the seed's pending-plan notify cooldown).
PLAN_NOTIFY_COOLDOWN = 60.0

# Events worth a journal line; deltas are not (the finished answer is journaled as context).
# Events after which a message's shown status may have changed.
STATUS_CHANGES = (
    MessageStateChanged,
    ApprovalRequested,
    ApprovalResolved,
    PlanReady,
    PlanResolved,
    ElicitationRequested,
    ElicitationResolved,
)

JOURNALED: tuple[type[Event], ...] = (
    ToolCallStarted,
    ToolResultReady,
    ApprovalRequested,
    ApprovalResolved,
    PlanReady,
    PlanResolved,
    ContextCompacted,
    TurnFinished,
    ErrorRaised,
    Notice,
    ElicitationRequested,
    ElicitationResolved,
)


# Which tools each agent is offered: ask has none, the architect only read-only ones.
_TOOL_FILTERS = {
    AgentKind.ASK: lambda _spec: False,
    AgentKind.ARCHITECT: lambda spec: spec.read_only,
}


def _stop_reason(exc: BaseException) -> StopReason:
    if isinstance(exc, GuardStop):
        return {
            "max_iterations": StopReason.MAX_ITERATIONS,
            "token_budget": StopReason.TOKEN_BUDGET,
            "cost_budget": StopReason.TOKEN_BUDGET,  # a policy's budget, in USD
        }.get(exc.limit, StopReason.CIRCUIT_BREAKER)
    if isinstance(exc, TurnTimeout):
        return StopReason.TIMEOUT
    return StopReason.ERROR


class SessionRunner:
    """Runs one session's turns on the current asyncio loop.

    Args:
        session: the session state this runner owns.
        settings: the effective settings (replaced by ``/model`` etc. through ``configure``).
        provider: the model provider.
        tools: the tools turns may use (a plain ToolPort is wrapped, see ``as_source``).
        journal: where records go; the ``accepted`` record is durable before ``send`` returns.
        clock: time source.
        answers: where the answers of ``%%collet`` cells are saved, to be replayed when the
            same cell runs again (None: never saved, never replayed).
    """

    def __init__(
        self,
        *,
        session: AgentSession,
        settings: Settings,
        provider: Provider,
        tools: ToolPort,
        journal: Journal,
        clock: Clock,
        answers: AnswerStore | None = None,
        previewer: Previewer | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.provider = provider
        self.tools: ToolSource = as_source(tools)
        self.journal = journal
        self.clock = clock
        self.gate = ApprovalGate(
            session=session, mode=lambda: self.settings.approval, emit=self.emit, now=clock.wall
        )
        self.previewer: Previewer = previewer or GenericPreviewer(
            cwd=session.project_dir, bash_timeout=settings.tool_timeout
        )
        # The preview of each call of the running turn, for its approval request too.
        self._previews: dict[str, dict[str, Any]] = {}
        self.gate.preview_of = lambda call: self._previews.get(call.id, {})
        # What MCP servers ask the person (elicitations), and ask the model (sampling).
        self.elicitations = ElicitationDesk(emit=self.emit, now=clock.wall)
        self.sampler = Sampler(self, previews=self._previews, within_budget=self._within_budget)
        # Reads what a message mentions that only its turn can read (``@server:uri`` of an
        # MCP resource: the server may have to start), and returns the text with it attached.
        self.attach: Callable[[str], Awaitable[tuple[str, tuple[Image, ...]]]] | None = None
        # What each message's views show (MessageStatus), and compact streaming's held text.
        self._shown: dict[str, tuple[str, str]] = {}
        self._held: dict[str, list[Event]] = {}
        self.answers = answers
        self._replays: dict[str, SavedAnswer] = {}
        self._budget_asks = 0
        self.tokens = TokenCounter(price=make_pricer(settings.provider, settings.base_url or ""))
        self.iterations = 0
        self.journal_error: str | None = None
        # The last decision on a tool call and on a plan, with its wall time: a command that
        # finds nothing left to decide says who decided it instead.
        self.last_decided: dict[str, tuple[ApprovalResolved | PlanResolved, float]] = {}
        # Each running message's decisions, saved with a cell's answer (a replay shows them).
        self._decisions: dict[str, list[dict[str, Any]]] = {}
        self._listeners: list[Listener] = []
        self._drain_task: asyncio.Task[None] | None = None
        self._turn_task: asyncio.Task[None] | None = None
        self._guard: Guard | None = None
        self._wake = asyncio.Event()
        self.scrubber = EventScrubber(self._secrets())
        session.context.on_change = lambda op: self.record({"kind": "context", **op})

    # ── subscribers and records ──

    @property
    def redactor(self) -> Redactor:
        """Masks the API key and secret-looking environment values in what leaves the session."""
        return self.scrubber.redactor

    def _secrets(self) -> Redactor:
        return Redactor.build(keys=[self.settings.api_key], env=os.environ)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every event from now on; returns the unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def record(self, record: dict[str, Any], *, durable: bool = False) -> None:
        """Append one record to the journal, stamped with the wall time."""
        try:
            self.journal.append(
                self.redactor.data({**record, "at": self.clock.wall()}), durable=durable
            )
        except OSError as exc:
            # A full disk must not wedge the queue: the turn goes on, status() reports it.
            self.journal_error = f"journal write failed: {exc}"
            log.warning("collet: %s", self.journal_error)

    def emit(self, event: Event) -> None:
        """Journal (when it matters) and publish one event to every subscriber, redacted."""
        for clean in self.scrubber.scrub(event):
            self._publish(clean)

    def _publish(self, event: Event) -> None:
        running = self.session.messages.running()
        if (
            self.session.suppressed
            and not isinstance(event, MessageStateChanged)
            and (running is None or running.id == event.message_id)
        ):
            return
        if self._hold(event):
            return
        if isinstance(event, JOURNALED):
            record = event.to_dict()
            record.pop("preview", None)  # what the call was is there; the preview is for views
            record.pop("images", None)  # the context record holds them once
            self.record({"kind": "event", "event": record})
        if isinstance(event, ApprovalResolved):
            self.last_decided["tool"] = (event, self.clock.wall())
            self._decisions.setdefault(event.message_id, []).append(event.to_dict())
        elif isinstance(event, PlanResolved):
            self.last_decided["plan"] = (event, self.clock.wall())
        self._deliver(event)
        if isinstance(event, STATUS_CHANGES) and event.message_id:
            self._restatus(event.message_id)
            retry_of = self._retry_of(event.message_id)
            if retry_of is not None:
                self._restatus(retry_of)  # it now says which message retries it
        self._wake.set()

    def _deliver(self, event: Event) -> None:
        for listener in tuple(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken view must not break the session
                log.exception("collet: event listener failed")

    def _retry_of(self, message_id: str) -> str | None:
        log = self.session.messages
        return log.get(message_id).retry_of if message_id in log else None

    def _restatus(self, message_id: str) -> None:
        """Tell the views when what they show for ``message_id`` changed (MessageStatus)."""
        if message_id not in self.session.messages:
            return
        retried_by = next((r.id for r in self.session.messages if r.retry_of == message_id), "")
        shown = (self._status_of(message_id), retried_by)
        if self._shown.get(message_id) == shown:
            return
        self._shown[message_id] = shown
        m = self.session.messages.get(message_id)
        self._deliver(
            MessageStatus(
                message_id=message_id, status=shown[0], error=m.error, retried_by=shown[1]
            )
        )

    def _status_of(self, message_id: str) -> str:
        """The status of one message, as every view shows it."""
        s = self.session
        m = s.messages.get(message_id)
        plan = s.pending_plan
        return shown_status(
            m.state,
            awaiting_approval=self.gate.waits_on(message_id),
            awaiting_plan=plan is not None and plan.message_id == message_id,
            awaiting_input=self.elicitations.waits_on(message_id),
        )

    def _hold(self, event: Event) -> bool:
        """Compact streaming (``/stream compact``): a reply's text reaches the views whole,
        when its step ends, not delta by delta. Whether ``event`` was held back."""
        mid = event.message_id
        delta = isinstance(event, TextDelta | ReasoningDelta)
        if delta and self.session.streaming_level is StreamingLevel.COMPACT:
            self._held.setdefault(mid, []).append(event)
            return True
        held = self._held.pop(mid, None)
        if held and not isinstance(event, AnswerReset):
            for kind in (ReasoningDelta, TextDelta):
                text = "".join(e.text for e in held if isinstance(e, kind))
                if text:
                    self._deliver(kind(message_id=mid, text=text))
        return False

    def _preview(self, call: ToolCall, spec: ToolSpec | None) -> dict[str, Any]:
        try:
            preview = self.redactor.data(self.previewer.preview(call, spec))
        except Exception:  # a preview must never cost the call
            log.exception("collet: preview of %s failed", call.name)
            preview = {}
        self._previews[call.id] = preview
        return preview

    def announce(self) -> None:
        """Tell the views the session's settings (after a command changed one)."""
        s = self.status()
        self.emit(
            SessionChanged(
                message_id="",
                agent=s["agent"],
                provider=s["provider"],
                model=s["model"],
                approval=s["approval"],
                streaming=s["streaming"],
                workspace=s["workspace"],
            )
        )

    def _move(self, message_id: str, state: MessageState, error: str | None = None) -> None:
        error = self.redactor.text(error) if error else error
        msg = self.session.messages.move(message_id, state, error=error)
        if state.terminal:
            self._decisions.pop(message_id, None)  # saved with its answer by now, if ever
        self.record(state_record(msg.id, state, error))
        self.emit(MessageStateChanged(message_id=msg.id, state=state.value, error=error))

    # ── user actions ──

    def send(
        self,
        text: str,
        *,
        agent: str | None = None,
        model: str | None = None,
        retry_of: str | None = None,
        cell: bool = False,
        rerun: bool = False,
        images: tuple[Image, ...] = (),
    ) -> UserMessage:
        """Accept a message: journal it durably, queue it, start the drain if idle.

        ``images`` go to the model with the text (journaled with it, so a resumed or retried
        message still has them).

        A ``cell`` message (a ``%%collet`` cell) has its answer saved; when the same cell (same
        project, agent, provider, model and text) was answered before, its saved answer is
        replayed instead of asking the model, unless ``rerun``.

        Raises:
            ConfigError: for an empty message or an unknown agent (nothing is queued).
            OSError: when the journal cannot store it (nothing is queued; the user sees why).
        """
        if not text.strip():
            raise ConfigError("the message is empty; write what the agent should do")
        if agent is not None:
            agent = AgentKind.parse(agent, setting="--agent").value
        messages = self.session.messages
        # The images are part of what was asked: a changed plot is a new question.
        asked = text + "".join(
            f"\n[image {hashlib.sha256(i.data.encode()).hexdigest()}]" for i in images
        )
        key = self._cell_key(asked, agent, model) if cell and self.answers is not None else None
        saved = self.answers.get(key) if key is not None and not rerun and self.answers else None
        self.journal.append(
            self.redactor.data(
                {
                    "kind": "accepted",
                    "id": messages.next_id,
                    "seq": messages.next_seq,
                    "text": text,
                    "agent": agent,
                    "model": model,
                    "retry_of": retry_of,
                    "cell_key": key,
                    "replay_of": f"{saved.session_id}/{saved.message_id}" if saved else None,
                    "at": self.clock.wall(),
                }
            )
            | ({"images": [i.to_dict() for i in images]} if images else {}),
            durable=True,
        )
        msg = self.session.enqueue(
            text,
            agent=agent,
            model=model,
            retry_of=retry_of,
            cell_key=key,
            images=images,
        )
        if saved is not None:
            self._replays[msg.id] = saved
        self.session.touch(self.clock.monotonic())
        self.emit(MessageStateChanged(message_id=msg.id, state=msg.state.value, text=text))
        plan = self.session.pending_plan
        if plan is not None and self.session.should_notify(
            self.clock.monotonic(), PLAN_NOTIFY_COOLDOWN
        ):
            # The queue holds while a plan waits: remind the user why (with a cooldown).
            self.emit(PlanReady(message_id=plan.message_id, plan=plan.plan))
        self._kick()
        return msg

    def _cell_key(self, text: str, agent: str | None, model: str | None) -> str:
        s = self.session
        return answer_key(
            project_dir=s.project_dir,
            agent=agent or s.agent_override or AgentKind.CODE.value,
            provider=self.provider.name,
            model=model or s.model_override or self.settings.model,
            text=text,
        )

    def retry(self, message_id: str | None = None) -> UserMessage:
        """Send a failed message again (default: the last one) as a new message pointing at it.

        Raises:
            UsageError: when no such failed message waits for a retry.
        """
        if message_id is None:
            failed = self.session.messages.last_failed()
            if failed is None:
                raise UsageError("nothing to retry: no failed message is waiting")
        else:
            log = self.session.messages
            if message_id not in log or log.get(message_id).state is not MessageState.FAILED:
                raise UsageError(f"{message_id} is not a failed message; nothing to retry")
            if any(m.retry_of == message_id for m in log):
                raise UsageError(f"{message_id} was retried already")
            failed = log.get(message_id)
        return self.send(
            failed.text,
            agent=failed.agent,
            model=failed.model,
            retry_of=failed.id,
            images=failed.images,
        )

    def cancel(self, reason: str = CANCELLED_BY_USER) -> list[str]:
        """Stop the running turn and cancel every queued message; return their ids, in order."""
        ids: list[str] = []
        running = self.session.messages.running()
        if running is not None and self._turn_task is not None and not self._turn_task.done():
            self._move(running.id, MessageState.CANCELLED, reason)
            self.session.suppress()
            self._turn_task.cancel()
            ids.append(running.id)
        for msg in self.session.queue():
            self._move(msg.id, MessageState.CANCELLED, reason)
            ids.append(msg.id)
        self.gate.cancel_all(reason)
        self.elicitations.cancel_all()  # the servers read "cancel"
        self.sampler.cancel_all()
        return ids

    def remove(self, message_id: str) -> None:
        """Cancel one queued message (the panel's remove button).

        Raises:
            UsageError: when the message is not queued.
        """
        if message_id not in self.session.messages or (
            self.session.messages.get(message_id).state is not MessageState.QUEUED
        ):
            raise UsageError(f"message {message_id} is not in the queue")
        self._move(message_id, MessageState.CANCELLED, "removed from the queue by the user")

    def allow(
        self, call_id: str | None = None, *, for_session: bool = False, by: str = "command"
    ) -> str:
        """Allow a pending tool call (None = the oldest); return its id.

        Raises:
            UsageError: when no such call is waiting.
        """
        decision = Decision.ALLOW_SESSION if for_session else Decision.ALLOW_ONCE
        return self.gate.resolve(call_id, decision, by=by)

    def deny(self, call_id: str | None = None, reason: str = "", *, by: str = "command") -> str:
        """Deny a pending tool call (None = the oldest); the model reads ``reason``.

        Raises:
            UsageError: when no such call is waiting.
        """
        return self.gate.resolve(call_id, Decision.DENY, reason, by=by)

    def _take_plan(self, state: PlanState) -> PendingPlan:
        plan = self.session.pending_plan
        if plan is None:
            raise UsageError(
                "no plan is waiting; send a message with `--agent architect` to get one"
            )
        self.session.pending_plan = None
        self.session.move(SessionState.IDLE)
        return plan.moved_to(state)

    def approve_plan(self, note: str = "", *, by: str = "command") -> UserMessage:
        """Approve the pending plan: the code agent carries it out as a new message.

        Raises:
            UsageError: when no plan is waiting.
        """
        plan = self._take_plan(PlanState.APPROVED)
        text = f"The plan above is approved: carry it out.\n\n{plan.plan}"
        if note:
            text += f"\n\nNote from the user: {note}"
        msg = self.send(text, agent=AgentKind.CODE.value)
        # After the send, so every view of the plan can follow the message that carries it out.
        self.emit(
            PlanResolved(
                message_id=plan.message_id,
                approved=True,
                note=note,
                by=by,
                at=self.clock.wall(),
                follow_up=msg.id,
            )
        )
        return msg

    def reject_plan(self, reason: str = "", *, by: str = "command") -> None:
        """Reject the pending plan; nothing runs, and the queue goes on.

        Raises:
            UsageError: when no plan is waiting.
        """
        plan = self._take_plan(PlanState.REJECTED)
        self.emit(
            PlanResolved(
                message_id=plan.message_id,
                approved=False,
                note=reason,
                by=by,
                at=self.clock.wall(),
            )
        )
        self.session.context.append(
            ChatMessage(
                role="user",
                content="I rejected that plan"
                + (f": {reason}" if reason else ".")
                + " Do not carry it out.",
            )
        )
        self._kick()

    async def wait_idle(self, timeout: float | None = None) -> SessionState:
        """Wait until the session is idle or needs a decision; return the state it is in.

        Raises:
            asyncio.TimeoutError: after ``timeout`` seconds.
        """

        async def settle() -> SessionState:
            while True:
                state = self.session.state
                if state in (SessionState.AWAITING_APPROVAL, SessionState.AWAITING_PLAN):
                    return state
                if self.elicitations.waiting():  # an MCP server's question waits (the state
                    return state  # stays running: the caller asks the desk what waits)
                if self._drain_task is None or self._drain_task.done():
                    return state
                self._wake.clear()
                await self._wake.wait()

        return await asyncio.wait_for(settle(), timeout)

    async def aclose(self) -> None:
        """Cancel everything, wait for the drain to end, close the provider."""
        self.cancel("the session was closed")
        task = self._drain_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # MCP servers, then HTTP connections (the Provider port has no aclose: only the
        # providers that hold connections have one).
        for resource, close in (
            (self.tools, self.tools.aclose),
            (self.provider, getattr(self.provider, "aclose", None)),
        ):
            if callable(close):
                try:
                    await close()
                except Exception:  # closing the rest (and the journal) must still happen
                    log.exception("collet: closing %s failed", type(resource).__name__)
        self.journal.close()

    # ── the drain ──

    def _kick(self) -> None:
        self.scrubber.redactor = self._secrets()  # the environment may have changed since
        if self._drain_task is None or self._drain_task.done():
            self._drain_task = asyncio.get_running_loop().create_task(self._drain())
            self._drain_task.add_done_callback(self._drained)

    def _drained(self, task: asyncio.Task[None]) -> None:
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("collet: the session drain failed", exc_info=task.exception())

    async def _drain(self) -> None:
        while self.session.state is not SessionState.AWAITING_PLAN:
            msg = self.session.drain_next()
            if msg is None:
                return
            self.session.move(SessionState.RUNNING)
            self.record(state_record(msg.id, msg.state))
            self.emit(MessageStateChanged(message_id=msg.id, state=msg.state.value))
            saved = self._replays.pop(msg.id, None)
            if saved is not None:  # a cell run before: its answer again, synchronously
                self._replay(msg, saved)
                self._settle(msg.id)
                continue
            turn = asyncio.get_running_loop().create_task(self._run_turn(msg))
            self._turn_task = turn
            try:
                # wait() does not raise when the turn is cancelled: only our own cancel does.
                await asyncio.wait({turn})
            except asyncio.CancelledError:
                turn.cancel()
                raise
            finally:
                self._turn_task = None
                self._settle(msg.id)

    def _settle(self, message_id: str) -> None:
        """After a turn task ends, however it ended: no message left running, session idle."""
        # What servers asked during the turn ends with it (the servers read "cancel").
        self.elicitations.cancel_all(message_id)
        self.sampler.cancel_all(message_id)
        if not self.session.messages.get(message_id).state.terminal:
            # Only reachable if the turn task died before it could record an outcome.
            self._move(message_id, MessageState.FAILED, "the turn ended without a result; /retry")
        if self.session.state is not SessionState.AWAITING_PLAN:
            self.session.move(SessionState.IDLE)
            # Views (panel, sidebar) learn the session is free without polling.
            self.emit(PhaseChanged(message_id=message_id, phase=Phase.IDLE.value))
        self.session.touch(self.clock.monotonic())

    async def _run_turn(self, msg: UserMessage) -> None:
        session, settings = self.session, self.settings
        session.suppressed = False
        self.tools.begin_turn(msg.id)  # checkpoints made in this turn are named after it
        agent = AgentKind.parse(msg.agent or session.agent_override or "code", setting="agent")
        self._guard = guard = Guard(
            max_iterations=settings.max_iterations, breaker_threshold=settings.circuit_breaker
        )
        loop = AgentLoop(
            message_id=msg.id,
            user_text=msg.text,
            user_images=msg.images,
            context=session.context,
            provider=self.provider,
            model=msg.model or session.model_override or settings.model,
            tools=self.tools,
            guard=guard,
            approver=self.gate,
            tool_timeout=settings.tool_timeout,
            tokens=self.tokens,
            tool_filter=_TOOL_FILTERS.get(agent),
            plan_mode=agent is AgentKind.ARCHITECT,
            before_request=lambda: self._within_budget(msg.id),
            redact=self.redactor.text,
            preview=self._preview,
        )
        self._previews.clear()
        checkpoint = len(session.context.messages)
        # The task timeout cancels this very task (no inner task, so an outcome and a
        # cancellation can never race each other the way they do inside wait_for).
        this = asyncio.current_task()
        timed_out = False

        def time_out() -> None:
            nonlocal timed_out
            timed_out = True
            if this is not None:
                this.cancel()

        timer = asyncio.get_running_loop().call_later(settings.task_timeout, time_out)
        try:
            # Inside the timeout and the cancel scope: a server slow to start is the turn's.
            await self._prepare_tools(msg, agent)
            if self.attach is not None:
                loop.user_text, found = await self.attach(msg.text)
                loop.user_images = msg.images + found
            await self._pump(loop)
        except asyncio.CancelledError:
            if not timed_out or self._was_cancelled(msg):
                self._after_cancel(msg, loop)
                raise
            uncancel = getattr(this, "uncancel", None)  # 3.11+: our own cancel is consumed
            if callable(uncancel):
                uncancel()
            exc = TurnTimeout(
                f"the turn ran past the task timeout ({settings.task_timeout:g} s) and was "
                "stopped; `/retry`, or raise COLLET_TASK_TIMEOUT",
                seconds=settings.task_timeout,
            )
            self._after_failure(msg, loop, checkpoint, exc)
        except ColletError as exc:
            self._after_failure(msg, loop, checkpoint, exc)
        except Exception as exc:  # a bug must fail the message visibly, not wedge the queue
            log.exception("collet: turn %s failed", msg.id)
            self._after_failure(msg, loop, checkpoint, exc)
        else:
            if self._was_cancelled(msg):
                self._finished(msg.id, StopReason.CANCELLED, loop)
            else:
                if agent is AgentKind.ARCHITECT:
                    self._hold_plan(msg, loop.final_text)
                self._save_answer(msg, checkpoint, loop)
                self._move(msg.id, MessageState.ANSWERED)
        finally:
            timer.cancel()
            self.iterations = guard.iterations
            self._guard = None

    def _save_answer(self, msg: UserMessage, checkpoint: int, loop: AgentLoop) -> None:
        """Save a cell's answer for a later re-run (not when compaction moved the context)."""
        if msg.cell_key is None or self.answers is None or loop.compacted:
            return
        messages = tuple(self.session.context.messages[checkpoint:])
        answer = SavedAnswer(
            messages=messages,
            session_id=self.session.session_id,
            message_id=msg.id,
            at=self.clock.wall(),
            decisions=tuple(self._decisions.pop(msg.id, ())),
            files={p: self._fingerprint(p) for p in written_paths(messages)},
        )
        try:
            self.answers.put(msg.cell_key, answer)
        except OSError as exc:  # the answer stands; only the re-run will ask again
            log.warning("collet: could not save the answer of %s: %s", msg.id, exc)

    async def _within_budget(self, message_id: str) -> None:
        """Before a model request: past the policy's token or cost budget, pause and ask.

        Allow once lets this request go; allow for the session lifts that budget; deny stops
        the turn (the message fails, kept for /retry).

        Raises:
            GuardStop: when the user does not allow going over.
        """
        policy = self.gate.policy
        used = self.tokens.prompt + self.tokens.completion
        if policy.over_budget(used):
            await self._ask_over(
                message_id, BUDGET_TOOL, {"used": used, "budget": policy.token_budget},
                f"the session used {used:,} tokens, past the budget of "
                f"{policy.token_budget:,}",
            )  # fmt: skip
        spent = self.tokens.cost_usd
        if policy.over_cost(spent):
            await self._ask_over(
                message_id, COST_TOOL, {"spent_usd": round(spent, 4),
                                        "budget_usd": policy.cost_budget},
                f"the session spent ${spent:.2f}, past the budget of ${policy.cost_budget:.2f}",
            )  # fmt: skip

    async def _ask_over(
        self, message_id: str, name: str, arguments: dict[str, Any], said: str
    ) -> None:
        if name in self.session.session_approvals:
            return
        self._budget_asks += 1
        call = ToolCall(
            id=f"{name.replace('_', '-')}-{self._budget_asks}",
            name=name,
            arguments=json.dumps(arguments),
        )
        verdict = await self.gate.ask(message_id, call)
        if not verdict.allowed:
            raise GuardStop(
                f"{said} set by {self.gate.policy.source}; `/retry` and allow going over, "
                f"or raise {name}",
                limit=name,
            )

    def _hold_plan(self, msg: UserMessage, plan: str) -> None:
        """The architect's answer becomes the pending plan: the queue holds until a decision."""
        session = self.session
        session.pending_plan = PendingPlan(plan=plan, message_id=msg.id)
        session.last_notified_at = self.clock.monotonic()
        session.move(SessionState.AWAITING_PLAN)

    def _fingerprint(self, path: str) -> str:
        """SHA-256 of a file the turn wrote, as it is now ("" when missing or unreadable)."""
        target = Path(self.session.project_dir, path).expanduser()
        try:
            return hashlib.sha256(target.read_bytes()).hexdigest()
        except OSError:
            return ""

    def _drifted(self, saved: SavedAnswer) -> str:
        """Which files the saved turn wrote are missing or changed now ("" when none)."""
        missing = [p for p, h in saved.files.items() if h and not self._fingerprint(p)]
        changed = [
            p
            for p, h in saved.files.items()
            if h and p not in missing and self._fingerprint(p) != h
        ]
        said = []
        if missing:
            said.append(f"missing since: {', '.join(missing)}")
        if changed:
            said.append(f"changed since: {', '.join(changed)}")
        return "; ".join(said)

    def _replay(self, msg: UserMessage, saved: SavedAnswer) -> None:
        """Show a cell's saved answer again, and put it in the context: no model, no tools."""
        mid, ctx = msg.id, self.session.context
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(saved.at))
        drift = self._drifted(saved)
        self.emit(
            Notice(
                message_id=mid,
                text=f"replayed the answer saved on {when}: no model call and no tool run; "
                + (f"the files it wrote are not as it left them ({drift}): " if drift else "")
                + "`%%collet --rerun` asks the model again",
                level="warning" if drift else "info",
            )
        )
        decided = {d.get("call_id"): d for d in saved.decisions}
        results = {m.tool_call_id: m for m in saved.messages if m.role == "tool"}
        for message in saved.messages:
            ctx.append(message)
            if message.role != "assistant":
                continue
            if message.content:
                self.emit(TextDelta(message_id=mid, text=message.content))
            for call in message.tool_calls:
                self.emit(
                    ToolCallStarted(
                        message_id=mid, call_id=call.id, name=call.name, arguments=call.arguments
                    )
                )
                decision = decided.get(call.id)
                if decision is not None:  # who allowed it the first time, and when
                    self.emit(
                        ApprovalResolved(
                            message_id=mid,
                            call_id=call.id,
                            decision=str(decision.get("decision", "")),
                            reason=str(decision.get("reason", "")),
                            by=str(decision.get("by", "")),
                            at=float(decision.get("at") or 0.0),
                            name=call.name,
                            arguments=call.arguments,
                        )
                    )
                result = results.get(call.id)
                if result is not None:
                    self.emit(
                        ToolResultReady(
                            message_id=mid,
                            call_id=call.id,
                            name=call.name,
                            content=result.content,
                            is_error=result.is_error,
                        )
                    )
        stop = StopReason.ANSWERED
        agent = msg.agent or self.session.agent_override
        answers = [m.content for m in saved.messages if m.role == "assistant" and m.content]
        if agent == AgentKind.ARCHITECT.value and answers:
            # A replayed plan waits for its decision again, as it did the first time.
            stop = StopReason.PLAN_READY
            self.emit(PlanReady(message_id=mid, plan=answers[-1]))
            self._hold_plan(msg, answers[-1])
        self.emit(TurnFinished(message_id=mid, stop_reason=stop.value))
        self._move(mid, MessageState.ANSWERED)

    async def _prepare_tools(self, msg: UserMessage, agent: AgentKind) -> None:
        """Start what the tools need (MCP servers, skills), pre-attach the tools this message
        calls for, and set the system prompt; problems become notices, never failures."""
        tools = self.tools
        self.emit(PhaseChanged(message_id=msg.id, phase=Phase.PREPARING.value))
        for problem in await tools.prepare():
            self.emit(Notice(message_id=msg.id, text=str(problem)))
        tools.reset_focus()
        tools.focus(msg.text)
        self.session.context.system_prompt = system_prompt(
            agent, project_dir=self.session.project_dir, extra=tools.prompt_section()
        )

    async def _pump(self, loop: AgentLoop) -> None:
        async with contextlib.aclosing(loop.events()) as events:
            async for event in events:
                self.emit(event)

    def _after_cancel(self, msg: UserMessage, loop: AgentLoop) -> None:
        ctx = self.session.context
        if loop.partial_text:
            # Keep what the user saw, so "continue" makes sense to the model.
            note = loop.partial_text + "\n\n[cancelled by the user]"
            ctx.append(ChatMessage(role="assistant", content=note))
        ctx.repair("not run: the user cancelled the turn")
        if not self.session.messages.get(msg.id).state.terminal:
            self._move(msg.id, MessageState.CANCELLED, CANCELLED_BY_USER)
        self._finished(msg.id, StopReason.CANCELLED, loop)

    def _was_cancelled(self, msg: UserMessage) -> bool:
        # cancel() marks the message at once; the turn may still end by another path when its
        # outcome and the cancellation land in the same loop tick (wait_for then prefers the
        # outcome). The user's cancel wins: the message stays cancelled.
        return self.session.messages.get(msg.id).state is MessageState.CANCELLED

    def _after_failure(
        self, msg: UserMessage, loop: AgentLoop, checkpoint: int, exc: BaseException
    ) -> None:
        if self._was_cancelled(msg):
            self._after_cancel(msg, loop)
            return
        ctx = self.session.context
        reason = str(exc) if isinstance(exc, ColletError) else f"{type(exc).__name__}: {exc}"
        if loop.tool_ran:
            ctx.repair(f"not run: the turn failed ({reason})")
        else:
            # Nothing durable happened: leave no trace, so /retry starts from the same context.
            ctx.truncate(checkpoint)
        self.emit(ErrorRaised(message_id=msg.id, error=reason, kind=type(exc).__name__))
        self._finished(msg.id, _stop_reason(exc), loop)
        self._move(msg.id, MessageState.FAILED, reason)

    def _finished(self, message_id: str, reason: StopReason, loop: AgentLoop) -> None:
        self.emit(
            TurnFinished(
                message_id=message_id, stop_reason=reason.value, iterations=loop.guard.iterations
            )
        )

    # ── status ──

    def status(self) -> dict[str, Any]:
        """The ``collet_nb.status()`` dict of docs/design.md for this session."""
        s, st = self.session, self.settings
        status = {
            "session_id": s.session_id,
            "project_dir": s.project_dir,
            "state": s.state.value,
            "busy": s.busy,
            "agent": s.agent_override or AgentKind.CODE.value,
            "provider": self.provider.name,
            "model": s.model_override or st.model,
            "streaming": s.streaming_level.value,
            "workspace": s.workspace_scope.value,
            "approval": st.approval.value,
            "pending_plan": s.pending_plan.plan if s.pending_plan else None,
            "pending_tools": self.gate.pending_tools(),
            "pending_elicitations": self.elicitations.pending(),
            "messages": [
                {
                    "id": m.id,
                    "text": m.text,
                    "state": m.state.value,
                    "status": self._status_of(m.id),
                    "error": m.error,
                }
                for m in s.messages
            ],
            "iterations": self._guard.iterations if self._guard else self.iterations,
            "tokens": {"prompt": self.tokens.prompt, "completion": self.tokens.completion},
            "cost_usd": self.tokens.cost,
            "context": {"used": s.context.used(), "budget": s.context.budget},
        }
        return self.redactor.data(status)
