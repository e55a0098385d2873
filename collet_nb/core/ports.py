"""The ports the core and runtime talk through; adapters implement them.

A provider streams ``ProviderChunk`` values for one ``ModelRequest``; a tool port lists specs
and runs calls (a ``ToolSource`` also has the hooks of a turn's life); an approver decides
whether a call may run; a journal stores records; a clock tells the time. Nothing here does I/O.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
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


@dataclass(frozen=True, kw_only=True)
class RetryChunk:
    """The adapter failed and will try again: it now waits ``wait_s`` seconds (until ``until``,
    a wall-clock ``time.time()``) before attempt ``attempt`` of at most ``attempts``. Its fields
    are those of the ``RetryWaiting`` event the loop makes of it.

    Attributes:
        reason: a few words (``rate limited (HTTP 429)``).
        detail: the whole failure, one line (the API key masked).
        wait_s: seconds until the next attempt.
        until: when the next attempt starts (``time.time()`` seconds).
        attempt: the number of the next attempt (2 for the first retry).
        attempts: the most attempts this request may make (the retry budget may stop it first).
    """

    reason: str
    detail: str
    wait_s: float
    until: float
    attempt: int
    attempts: int


ProviderChunk = TextChunk | ReasoningChunk | ToolCallChunk | UsageChunk | RestartChunk | RetryChunk


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


class ToolSource(ABC):
    """A ToolPort with the hooks of a turn's life, each doing nothing unless overridden (as
    pydantic-ai's toolsets do): the runner calls every hook on its tools, and a toolbox passes
    ``begin_turn``, ``prepare``, ``prompt_section`` and ``aclose`` on to each of its sources.
    """

    @abstractmethod
    def specs(self) -> Sequence[ToolSpec]:
        """The tools to offer the model."""

    @abstractmethod
    async def call(self, call: ToolCall, arguments: Mapping[str, Any]) -> ToolResult:
        """Run one call; failures come back as ``ToolResult(is_error=True)``, not exceptions."""

    def begin_turn(self, message_id: str) -> None:  # noqa: B027 (a no-op hook)
        """The turn of ``message_id`` starts (before ``prepare``)."""

    async def prepare(self) -> Sequence[str | Exception]:
        """Get ready for a turn (start servers, rediscover skills); return the problems the
        user should be told of (each shown as ``str(problem)``)."""
        return ()

    def reset_focus(self) -> None:  # noqa: B027 (a no-op hook)
        """Forget what :meth:`focus` offered for the previous message."""

    def focus(self, user_text: str) -> Sequence[ToolSpec]:
        """Offer the tools ``user_text`` calls for (when not all are offered); return them."""
        return ()

    def prompt_section(self) -> str:
        """What the system prompt should say about these tools (``""``: nothing)."""
        return ""

    def suggest(self, name: str) -> Sequence[str] | None:
        """The names closest to the unknown tool ``name``; None when this source cannot rank
        names (the model is then told every name)."""
        return None

    async def aclose(self) -> None:  # noqa: B027 (a no-op hook)
        """Release what the tools hold (servers, processes); idempotent."""


class PortSource(ToolSource):
    """A ToolPort that does not derive from ToolSource, as one: its specs and calls pass
    through, and so do the toolbox hooks it defines by name (a port written without the base
    class keeps its ``prompt_section``, say); the other hooks do nothing.

    The one place a hook is looked up by name: give a port the base class instead.
    """

    def __init__(self, inner: ToolPort) -> None:
        self.inner = inner

    def _hook(self, name: str) -> Callable[..., Any] | None:
        hook = getattr(self.inner, name, None)
        return hook if callable(hook) else None

    def specs(self) -> Sequence[ToolSpec]:
        """The inner port's specs."""
        return self.inner.specs()

    async def call(self, call: ToolCall, arguments: Mapping[str, Any]) -> ToolResult:
        """The inner port's call."""
        return await self.inner.call(call, arguments)

    def begin_turn(self, message_id: str) -> None:
        """The inner port's ``begin_turn``, if it has one."""
        if hook := self._hook("begin_turn"):
            hook(message_id)

    async def prepare(self) -> Sequence[str | Exception]:
        """The inner port's ``prepare``, if it has one."""
        hook = self._hook("prepare")
        return list(await hook()) if hook else ()

    def prompt_section(self) -> str:
        """The inner port's ``prompt_section``, if it has one."""
        hook = self._hook("prompt_section")
        return str(hook()) if hook else ""

    async def aclose(self) -> None:
        """The inner port's ``aclose``, if it has one."""
        if hook := self._hook("aclose"):
            await hook()


def as_source(port: ToolPort) -> ToolSource:
    """``port`` as a ToolSource: itself when it is one, else wrapped in a PortSource."""
    return port if isinstance(port, ToolSource) else PortSource(port)


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
