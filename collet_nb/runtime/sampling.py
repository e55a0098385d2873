"""A server's ``sampling/createMessage`` answered by the session's own provider, once the person
allows it: the approval gate judges it as the pseudo call ``sampling:<server>`` (``auto`` and
``manual`` ask, ``yolo`` does not, a policy's lists apply), the policy's budgets are checked
first, and the tokens count in ``/cost`` like the turn's own.

Its card in the views is a tool card: the call (with its ``sampling`` preview), the decision,
and the model's reply as the result. Cancelling the message (or the end of its turn) stops a
sampling that waits or streams; the server is told it was refused.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from collet_nb.core.chat import ToolCall
from collet_nb.core.events import StatusUpdate, ToolCallStarted, ToolResultReady
from collet_nb.core.ports import ModelRequest, RestartChunk, TextChunk, UsageChunk
from collet_nb.core.sampling import SamplingReply, SamplingRequest
from collet_nb.errors import ColletError, ToolError

if TYPE_CHECKING:
    from collet_nb.runtime.runner import SessionRunner


class Sampler:
    """Answers one session's sampling requests.

    Args:
        runner: the session's runner (its gate, provider, token counter and events).
        previews: where the runner keeps each call's preview (its approval card shows it).
        within_budget: awaited before the model request (a policy's budget may ask there).
    """

    def __init__(
        self,
        runner: SessionRunner,
        *,
        previews: dict[str, dict[str, Any]],
        within_budget: Callable[[str], Awaitable[None]],
    ) -> None:
        self.runner = runner
        self.previews = previews
        self.within_budget = within_budget
        self._count = 0
        self._running: dict[asyncio.Task[SamplingReply], str] = {}

    async def sample(self, message_id: str, request: SamplingRequest) -> SamplingReply:
        """Ask the person (unless the mode or a policy says not to), then the model.

        Raises:
            ToolError: when the person or the policy refuses it, the budget stops it, the model
                fails, or the message is cancelled (the server reads why).
        """
        runner = self.runner
        self._count += 1
        call = request.call(f"sampling-{self._count}")
        model = runner.session.model_override or runner.settings.model
        preview = runner.redactor.data(request.preview(model))
        self.previews[call.id] = preview
        runner.emit(
            ToolCallStarted(message_id=message_id, call_id=call.id, name=call.name,
                            arguments=call.arguments, preview=preview)
        )  # fmt: skip
        started = time.monotonic()
        task = asyncio.get_running_loop().create_task(self._run(message_id, request, call, model))
        self._running[task] = message_id
        try:
            # wait() does not raise when the task is cancelled: only our own cancel does.
            await asyncio.wait({task})
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            self._running.pop(task, None)
        problem = ""
        reply: SamplingReply | None = None
        if task.cancelled():
            problem = "the message was cancelled before the model answered"
        elif isinstance(task.exception(), ColletError):
            problem = str(task.exception())
        elif task.exception() is not None:
            exc = task.exception()
            problem = f"the model request failed: {type(exc).__name__}: {exc}"
        else:
            reply = task.result()
        runner.emit(
            ToolResultReady(
                message_id=message_id, call_id=call.id, name=call.name,
                content=problem if reply is None else reply.text, is_error=reply is None,
                duration_s=round(time.monotonic() - started, 3),
            )
        )  # fmt: skip
        if reply is None:
            raise ToolError(f"sampling refused: {problem}", tool=call.name)
        return reply

    async def _run(
        self, message_id: str, request: SamplingRequest, call: ToolCall, model: str
    ) -> SamplingReply:
        runner = self.runner
        verdict = await runner.gate.review(message_id, call, request.spec())
        if not verdict.allowed:
            why = f": {verdict.reason}" if verdict.reason else ""
            raise ToolError(f"the person denied it{why}", tool=call.name)
        await self.within_budget(message_id)
        text, completion = await self._stream(request, model)
        counter = runner.tokens
        context = runner.session.context
        runner.emit(
            StatusUpdate(
                message_id=message_id, iteration=runner.status()["iterations"],
                prompt_tokens=counter.prompt, completion_tokens=counter.completion,
                context_used=context.used(), context_budget=context.budget,
                cost_usd=counter.cost,
            )
        )  # fmt: skip
        stop = "maxTokens" if completion >= request.token_cap else "endTurn"
        return SamplingReply(text=runner.redactor.text(text), model=model, stop_reason=stop)

    async def _stream(self, request: SamplingRequest, model: str) -> tuple[str, int]:
        """The model's text and completion tokens; the usage counts in the session's tokens."""
        runner = self.runner
        text: list[str] = []
        completion = 0
        async for chunk in runner.provider.stream(
            ModelRequest(
                model=model,
                system=request.system_prompt,
                messages=request.chat(),
                max_tokens=request.token_cap,
            )
        ):
            if isinstance(chunk, TextChunk):
                text.append(chunk.text)
            elif isinstance(chunk, UsageChunk):
                runner.tokens.add(chunk.usage, model)
                completion += chunk.usage.completion_tokens
            elif isinstance(chunk, RestartChunk):
                text.clear()
        return "".join(text), completion

    def cancel_all(self, message_id: str | None = None) -> None:
        """Stop every sampling that waits or streams (of ``message_id`` only, when given)."""
        for task, mid in tuple(self._running.items()):
            if message_id is None or mid == message_id:
                task.cancel()
