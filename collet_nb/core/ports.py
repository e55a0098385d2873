"""The ports the core and runtime talk through; adapters implement them.

A provider streams ``ProviderChunk`` values for one ``ModelRequest``; a tool port lists specs
and runs calls; an approver decides whether a call may run; a journal stores records; a clock
tells the time. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from collet_nb.core.chat import ChatMessage, ToolCall, ToolResult, ToolSpec, Usage


@dataclass(frozen=True, kw_only=True)
class ModelRequest:
    """One request to the model.

    Attributes:
        model: the model name.
        system: the system prompt.
        messages: the conversation, oldest first.
        tools: the tools the model may call.
        max_tokens: the cap on the reply.
    """

    model: str
    system: str
    messages: tuple[ChatMessage, ...]
    tools: tuple[ToolSpec, ...] = ()
    max_tokens: int = 8192


@dataclass(frozen=True, kw_only=True)
class TextChunk:
    """A piece of answer text."""

    text: str


@dataclass(frozen=True, kw_only=True)
class ReasoningChunk:
    """A piece of reasoning/thinking text, kept apart from the answer."""

    text: str


@dataclass(frozen=True, kw_only=True)
class ToolCallChunk:
    """A complete tool call (adapters accumulate the wire deltas)."""

    call: ToolCall


@dataclass(frozen=True, kw_only=True)
class UsageChunk:
    """Token usage reported by the provider."""

    usage: Usage


@dataclass(frozen=True, kw_only=True)
class RestartChunk:
    """The adapter retried after answer text was shown: the partial answer is void."""

    reason: str


ProviderChunk = TextChunk | ReasoningChunk | ToolCallChunk | UsageChunk | RestartChunk


class Provider(Protocol):
    """A model behind some wire protocol."""

    @property
    def name(self) -> str:
        """The provider's name (``openai``, ``anthropic``, ``demo``)."""
        ...

    def stream(self, request: ModelRequest) -> AsyncIterator[ProviderChunk]:
        """Stream the reply to ``request``.

        Raises:
            ProviderError: when the provider cannot be reached or fails.
        """
        ...


class ToolPort(Protocol):
    """The tools a turn may use."""

    def specs(self) -> Sequence[ToolSpec]:
        """The tools to offer the model."""
        ...

    async def call(self, call: ToolCall, arguments: Mapping[str, Any]) -> ToolResult:
        """Run one call; failures come back as ``ToolResult(is_error=True)``, not exceptions."""
        ...


class Decision(StrEnum):
    """The user's answer to a tool call that asked."""

    ALLOW_ONCE = "allow_once"
    ALLOW_SESSION = "allow_session"
    DENY = "deny"


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """An approver's answer: run the call or not, and the reason the model sees on a deny."""

    allowed: bool
    reason: str = ""
    asked: bool = False


class Approver(Protocol):
    """Decides whether a tool call may run (may wait for the user)."""

    async def review(self, message_id: str, call: ToolCall, spec: ToolSpec | None) -> Verdict:
        """Return the verdict for ``call``."""
        ...


class Journal(Protocol):
    """Append-only storage of a session's records."""

    def append(self, record: Mapping[str, Any], *, durable: bool = False) -> None:
        """Store one record; ``durable`` records are on disk when this returns."""
        ...

    def close(self) -> None:
        """Release the storage (a later append may reopen it)."""
        ...


class Clock(Protocol):
    """Monotonic seconds (for idle times and cooldowns) and wall time (for records)."""

    def monotonic(self) -> float:
        """Seconds on a monotonic clock."""
        ...

    def wall(self) -> float:
        """Seconds since the epoch."""
        ...
