"""The seam between the shared HTTP machinery and one wire protocol (OpenAI or Anthropic):
where to post, which headers, what body, and how to read the reply."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from collet_nb.core.ports import ModelRequest, ProviderChunk, ReasoningChunk, TextChunk
from collet_nb.errors import ProviderError


def merged(chunks: Iterable[ProviderChunk]) -> list[ProviderChunk]:
    """``chunks`` with each run of answer (or reasoning) text joined into one chunk; the
    others, and the order, kept."""
    out: list[ProviderChunk] = []
    run: list[str] = []
    kind: type[TextChunk] | type[ReasoningChunk] | None = None
    for chunk in chunks:
        if kind is not None and type(chunk) is not kind:
            out.append(kind(text="".join(run)))
            kind = None
        if isinstance(chunk, (TextChunk, ReasoningChunk)):
            if kind is None:
                kind, run = type(chunk), []
            run.append(chunk.text)
        else:
            out.append(chunk)
    if kind is not None:
        out.append(kind(text="".join(run)))
    return out


def fed_many(
    feed: Callable[[SSEEvent], list[ProviderChunk]], events: Iterable[SSEEvent]
) -> Iterator[ProviderChunk]:
    """What ``feed`` makes of each event, text runs joined; when an event raises, what the
    events before it made comes out first."""
    held: list[ProviderChunk] = []
    for event in events:
        try:
            held.extend(feed(event))
        except ProviderError:
            yield from merged(held)
            raise
    yield from merged(held)


class SSEEvent(Protocol):
    """One server-sent event, as a decoder reads it (``httpx2.ServerSentEvent``)."""

    @property
    def event(self) -> str:
        """The event type (``message`` when the stream named none)."""
        ...

    @property
    def data(self) -> str:
        """The data lines joined by newlines."""
        ...


class StreamDecoder(Protocol):
    """Reads one response; a fresh decoder serves each attempt."""

    @property
    def ended(self) -> bool:
        """Whether the protocol's last event arrived (nothing more to read)."""
        ...

    def feed(self, event: SSEEvent) -> list[ProviderChunk]:
        """Take one event; return the chunks it completes.

        Raises:
            ProviderStreamError: the event reports an error.
        """
        ...

    def feed_many(self, events: Sequence[SSEEvent]) -> Iterator[ProviderChunk]:
        """Take the events of one batch; give their chunks with each run of text joined
        (``merged``).

        Raises:
            ProviderStreamError: an event reports an error (after the chunks of the events
                before it).
        """
        ...

    def close(self) -> list[ProviderChunk]:
        """The body ended: return held chunks.

        Raises:
            ProviderStreamError: the reply stopped before its end (a cut connection).
        """
        ...

    def whole(self, payload: Mapping[str, Any]) -> list[ProviderChunk]:
        """Convert a non-streamed JSON reply (a server that ignored ``stream: true``)."""
        ...


class Wire(Protocol):
    """One wire protocol."""

    @property
    def name(self) -> str:
        """The provider's name (``openai`` or ``anthropic``)."""
        ...

    @property
    def key_env(self) -> str:
        """The protocol's own API key variable, named in 401/403 messages."""
        ...

    def url(self, base_url: str) -> str:
        """The endpoint to post to."""
        ...

    def headers(self, api_key: str | None) -> dict[str, str]:
        """Request headers, authentication included."""
        ...

    def body(self, request: ModelRequest, model: str) -> dict[str, Any]:
        """The JSON body for ``request``."""
        ...

    def decoder(self) -> StreamDecoder:
        """A decoder for one response."""
        ...
