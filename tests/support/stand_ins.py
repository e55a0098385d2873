"""Stand-ins for the ports (not mocks): a function model, tools, an in-memory journal.

``FunctionModel`` follows pydantic-ai's idea: a plain function decides each reply from the
request, so a test reads as the conversation it scripts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from collet_nb.core.chat import ToolCall, ToolResult, ToolSpec, Usage
from collet_nb.core.ports import (
    ModelRequest,
    ProviderChunk,
    TextChunk,
    ToolCallChunk,
    UsageChunk,
)

Reply = Sequence[ProviderChunk] | Exception


class FunctionModel:
    """A provider whose every reply is ``reply(request)``: chunks to stream, or an error to raise.

    ``gate`` (an asyncio.Event), when set up, holds each reply until the test opens it.
    """

    def __init__(self, reply: Callable[[ModelRequest], Reply], *, name: str = "function") -> None:
        self.reply = reply
        self.requests: list[ModelRequest] = []
        self.gate: asyncio.Event | None = None
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    async def stream(self, request: ModelRequest) -> AsyncIterator[ProviderChunk]:
        self.requests.append(request)
        if self.gate is not None:
            await self.gate.wait()
        outcome = self.reply(request)
        if isinstance(outcome, Exception):
            raise outcome
        for chunk in outcome:
            await asyncio.sleep(0)
            yield chunk


def string_tool(name: str, description: str, /, **params: str) -> ToolSpec:
    """A tool whose parameters are strings described by ``params``' values."""
    properties: dict[str, Any] = {
        key: {"type": "string", "description": text} for key, text in params.items()
    }
    return ToolSpec(
        name=name, description=description, parameters={"type": "object", "properties": properties}
    )


def text(*parts: str) -> list[ProviderChunk]:
    """Chunks streaming ``parts`` as answer text, then usage."""
    return [*(TextChunk(text=p) for p in parts), UsageChunk(usage=Usage(prompt_tokens=10))]


def call(name: str, arguments: Any = None, *, call_id: str = "c1") -> ToolCallChunk:
    """A tool-call chunk; ``arguments`` may be a dict or a raw (possibly invalid) string."""
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    return ToolCallChunk(call=ToolCall(id=call_id, name=name, arguments=raw))


def last_user(request: ModelRequest) -> str:
    """The text of the request's last user message."""
    return next(m.content for m in reversed(request.messages) if m.role == "user")


def answered_tools(request: ModelRequest) -> int:
    """How many tool results follow the last user message."""
    users = [i for i, m in enumerate(request.messages) if m.role == "user"]
    return sum(1 for m in request.messages[users[-1] :] if m.role == "tool")


class EchoTools:
    """Tools: ``echo {text}`` (read-only), ``fail`` (always an error), ``hang`` (never ends).

    ``entered`` is set when any call starts.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.entered = asyncio.Event()

    def specs(self) -> Sequence[ToolSpec]:
        return (
            ToolSpec(
                name="echo",
                description="Echo the text back.",
                parameters={"type": "object", "properties": {"text": {"type": "string"}}},
                read_only=True,
            ),
            ToolSpec(name="fail", description="Always fails."),
            ToolSpec(name="hang", description="Never returns."),
        )

    async def call(self, call: ToolCall, arguments: Mapping[str, Any]) -> ToolResult:
        self.calls.append((call.name, dict(arguments)))
        self.entered.set()
        if call.name == "hang":
            await asyncio.Event().wait()
        if call.name == "fail":
            return ToolResult(call_id=call.id, name=call.name, content="it broke", is_error=True)
        return ToolResult(call_id=call.id, name=call.name, content=str(arguments.get("text", "")))


class MemoryJournal:
    """Records appended in memory; ``durable`` ones are marked."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.durable: list[dict[str, Any]] = []

    def append(self, record: Mapping[str, Any], *, durable: bool = False) -> None:
        self.records.append(dict(record))
        if durable:
            self.durable.append(dict(record))

    def close(self) -> None:
        pass


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_700_000_000.0 + self.now
