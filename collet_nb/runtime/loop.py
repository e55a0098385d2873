"""The agent loop of one turn, as an async stream of events.

Stream the model's reply → run the tool calls it asks for (each reviewed by the approver,
each under the tool timeout) → feed the results back → repeat, until a reply without tool
calls, the guard, or cancellation. Failures raise (ProviderError, GuardStop); the runner
turns them into the message's final state. The context is mutated in place, so whatever
happened stays with the session even when the turn is cancelled.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from collet_nb.adapters.tools.output import truncate_middle
from collet_nb.core.chat import ChatMessage, ToolCall, ToolResult, ToolSpec, Usage
from collet_nb.core.context import (
    ConversationContext,
    estimate_tokens,
    message_tokens,
    tools_tokens,
)
from collet_nb.core.events import (
    AnswerReset,
    ContextCompacted,
    Event,
    Phase,
    PhaseChanged,
    PlanReady,
    ReasoningDelta,
    RetryWaiting,
    StatusUpdate,
    StopReason,
    TextDelta,
    ToolCallStarted,
    ToolResultReady,
    TurnFinished,
)
from collet_nb.core.guard import Guard
from collet_nb.core.images import Image, split_images
from collet_nb.core.ports import (
    Approver,
    ModelRequest,
    Provider,
    ReasoningChunk,
    RestartChunk,
    RetryChunk,
    TextChunk,
    ToolCallChunk,
    ToolSource,
    UsageChunk,
    Verdict,
)
from collet_nb.core.surrogates import well_formed

# The longest tool result the model and the views get (the built-in and MCP tools cap theirs
# lower; any other tool is cut here).
MAX_RESULT_CHARS = 100_000


class AllowAll:
    """The approver of ``yolo`` mode: every call runs."""

    async def review(self, message_id: str, call: ToolCall, spec: ToolSpec | None) -> Verdict:
        """Allow ``call``."""
        return Verdict(allowed=True)


@dataclass(kw_only=True)
class TokenCounter:
    """Tokens a session has used, summed over every request, and what they cost where the
    price is known (``price``: USD for one request's usage of a model, None when unknown)."""

    prompt: int = 0
    completion: int = 0
    price: Callable[[Usage, str], float | None] | None = None
    cost_usd: float = 0.0
    unpriced: set[str] = field(default_factory=set)  # models used without a known price

    def add(self, usage: Usage, model: str = "") -> None:
        """Count one request's usage (of ``model``)."""
        self.prompt += usage.prompt_tokens
        self.completion += usage.completion_tokens
        if self.price is None:
            return
        cost = self.price(usage, model)
        if cost is None:
            self.unpriced.add(model)
        else:
            self.cost_usd += cost

    @property
    def cost(self) -> float | None:
        """USD spent, when every request so far had a price (None: not known)."""
        return None if self.price is None or self.unpriced else round(self.cost_usd, 6)


@dataclass(kw_only=True)
class AgentLoop:
    """One turn of the agent for one user message.

    While a reply streams, ``partial_text`` holds its text not yet recorded in the context (so
    a cancelled turn can keep it); ``tool_ran`` says whether any tool was executed,
    ``compacted`` whether the context was folded during the turn, and ``final_text`` is the
    answer once the turn ends.
    """

    message_id: str
    user_text: str
    context: ConversationContext
    provider: Provider
    model: str
    tools: ToolSource
    guard: Guard
    approver: Approver = field(default_factory=AllowAll)
    tool_timeout: float = 120.0
    max_tokens: int = 8192
    tokens: TokenCounter = field(default_factory=TokenCounter)
    tool_filter: Callable[[ToolSpec], bool] | None = None
    plan_mode: bool = False
    partial_text: str = ""
    final_text: str = ""
    tool_ran: bool = False
    # Masks secrets in tool results and answers before they enter the context (and so before
    # the model, the journal and saved answers see them).
    redact: Callable[[str], str] = str
    compacted: bool = False
    # Awaited before each model request (the token budget of a policy may pause there).
    before_request: Callable[[], Awaitable[None]] | None = None
    # What a tool call will do, shown with it before it runs (docs/protocol.md, previews).
    preview: Callable[[ToolCall, ToolSpec | None], dict[str, Any]] | None = None
    # Images the user attached (``@cell:N`` of a plot): they go with the text.
    user_images: tuple[Image, ...] = ()

    def _specs(self) -> tuple[ToolSpec, ...]:
        specs = tuple(self.tools.specs())
        if self.tool_filter is not None:
            specs = tuple(s for s in specs if self.tool_filter(s))
        return specs

    def _status(self) -> StatusUpdate:
        return StatusUpdate(
            message_id=self.message_id,
            iteration=self.guard.iterations,
            prompt_tokens=self.tokens.prompt,
            completion_tokens=self.tokens.completion,
            context_used=self.context.used(),
            context_budget=self.context.budget,
            cost_usd=self.tokens.cost,
        )

    async def events(self) -> AsyncGenerator[Event, None]:
        """Run the turn, yielding what happens.

        Raises:
            ProviderError: the model failed (after the adapter's retries).
            GuardStop: the iteration limit or the circuit breaker stopped the turn.
        """
        mid = self.message_id
        self.context.append(
            ChatMessage(role="user", content=self.user_text, images=self.user_images)
        )
        while True:
            self.guard.next_iteration()
            if self.context.needs_compaction():
                yield PhaseChanged(message_id=mid, phase=Phase.COMPACTING.value)
                done = self.context.compact()
                if done is not None:
                    self.compacted = True
                    yield ContextCompacted(
                        message_id=mid,
                        tokens_before=done.tokens_before,
                        tokens_after=done.tokens_after,
                        messages_removed=done.messages_removed,
                    )
            if self.before_request is not None:
                await self.before_request()
            yield PhaseChanged(message_id=mid, phase=Phase.THINKING.value)
            yield self._status()
            specs = self._specs()
            calls: list[ToolCall] = []
            async for event in self._stream_reply(specs, calls):
                yield event
            # Masked like the view showed it, so the context holds what the user saw.
            reply, self.partial_text = self.redact(self.partial_text), ""
            self.context.append(
                ChatMessage(role="assistant", content=reply, tool_calls=tuple(calls))
            )
            yield self._status()
            if not calls:
                self.final_text = reply
                stop = StopReason.ANSWERED
                if self.plan_mode:
                    stop = StopReason.PLAN_READY
                    yield PlanReady(message_id=mid, plan=reply)
                yield TurnFinished(
                    message_id=mid, stop_reason=stop.value, iterations=self.guard.iterations
                )
                return
            by_name = {s.name: s for s in specs}
            for call in calls:
                async for event in self._run_call(call, by_name.get(call.name), by_name):
                    yield event

    async def _stream_reply(
        self, specs: tuple[ToolSpec, ...], calls: list[ToolCall]
    ) -> AsyncIterator[Event]:
        """Stream one model reply; collect its tool calls into ``calls``."""
        mid = self.message_id
        request = ModelRequest(
            model=self.model,
            system=self.context.system_prompt,
            messages=tuple(self.context.messages),
            tools=specs,
            max_tokens=self.max_tokens,
        )
        estimate = (
            estimate_tokens(request.system)
            + sum(message_tokens(m) for m in request.messages)
            + tools_tokens(specs)
        )
        self.partial_text = ""
        streaming = False
        async for chunk in self.provider.stream(request):
            if isinstance(chunk, TextChunk):
                if not streaming:
                    streaming = True
                    yield PhaseChanged(message_id=mid, phase=Phase.STREAMING.value)
                self.partial_text += chunk.text
                yield TextDelta(message_id=mid, text=chunk.text)
            elif isinstance(chunk, ReasoningChunk):
                yield ReasoningDelta(message_id=mid, text=chunk.text)
            elif isinstance(chunk, ToolCallChunk):
                calls.append(chunk.call)
            elif isinstance(chunk, UsageChunk):
                self.tokens.add(chunk.usage, self.model)
                self.context.calibrate(reported=chunk.usage.prompt_tokens, estimated=estimate)
            elif isinstance(chunk, RestartChunk):
                self.partial_text = ""
                calls.clear()
                yield AnswerReset(message_id=mid, reason=chunk.reason)
            elif isinstance(chunk, RetryChunk):
                yield RetryWaiting(message_id=mid, **dataclasses.asdict(chunk))

    async def _run_call(
        self, call: ToolCall, spec: ToolSpec | None, by_name: dict[str, ToolSpec]
    ) -> AsyncIterator[Event]:
        """Review, run and record one tool call (errors become results the model reads)."""
        mid = self.message_id
        preview = self.preview(call, spec) if self.preview is not None else {}
        yield ToolCallStarted(
            message_id=mid, call_id=call.id, name=call.name, arguments=call.arguments,
            preview=preview,
        )  # fmt: skip
        result, elapsed = await self._execute(call, spec, by_name)
        # Masked before cut, so a cut cannot leave half a secret; the cut is a backstop for
        # tools that do not cap their output (a 50 MB result would wreck the context).
        content = truncate_middle(self.redact(well_formed(result.content)), MAX_RESULT_CHARS)
        result = dataclasses.replace(result, content=content)
        self.context.append(
            ChatMessage(
                role="tool",
                content=result.content,
                tool_call_id=call.id,
                name=call.name,
                is_error=result.is_error,
                images=result.images,
            )
        )
        yield ToolResultReady(
            message_id=mid,
            call_id=call.id,
            name=call.name,
            content=result.content,
            is_error=result.is_error,
            duration_s=round(elapsed, 3),
            images=[image.to_dict() for image in split_images(result.images)[0]],
        )
        self.guard.record_tool(success=not result.is_error)

    async def _execute(
        self, call: ToolCall, spec: ToolSpec | None, by_name: dict[str, ToolSpec]
    ) -> tuple[ToolResult, float]:
        """The call's result, and the seconds it ran (a decision's wait not counted)."""
        started = time.monotonic()

        def error(text: str) -> tuple[ToolResult, float]:
            result = ToolResult(call_id=call.id, name=call.name, content=text, is_error=True)
            return result, time.monotonic() - started

        if spec is None:
            # Thousands of MCP tools: name the closest few, not all of them.
            closest = self.tools.suggest(call.name) if len(by_name) > 20 else None
            if closest is not None:
                hint = f"the closest are: {', '.join(closest) or 'none'}"
                if "tool_search" in by_name:
                    hint += "; tool_search finds more"
            else:
                hint = f"the tools you can call are: {', '.join(sorted(by_name)) or 'none'}"
            return error(f"unknown tool {call.name!r}; {hint}")
        try:
            arguments: dict[str, Any] = call.parsed_arguments()
        except ValueError as exc:
            return error(str(exc))
        verdict = await self.approver.review(self.message_id, call, spec)
        if not verdict.allowed:
            why = f": {verdict.reason}" if verdict.reason else ""
            return error(f"the user denied this {call.name} call{why}")
        self.tool_ran = True
        started = time.monotonic()  # the time spent deciding is not the tool's
        try:
            result = await asyncio.wait_for(
                self.tools.call(call, arguments), timeout=self.tool_timeout
            )
        except TimeoutError:
            return error(
                f"{call.name} timed out after {self.tool_timeout:g} s and was stopped; "
                "try a smaller step"
            )
        except Exception as exc:  # a tool bug must not kill the turn: the model is told
            return error(f"{call.name} failed: {type(exc).__name__}: {exc}")
        return result, time.monotonic() - started
