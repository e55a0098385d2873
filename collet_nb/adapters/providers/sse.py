"""Server-Sent Events over raw bytes, with httpx2's own parser: the one behind
``httpx2.EventSource`` (WHATWG line rules, and its cap on an event's size).

``EventSource`` itself is not used: it drops a last event that has no closing blank line (some
servers end a stream that way), keeps a leading byte-order mark in the first field name, refuses
any content type but ``text/event-stream`` (the caller judges that), and hands out one event per
async step where a network read usually completes several. This wrapper feeds the same parser,
fixing those two behaviours, and gives the events of one read together.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from httpx2 import ServerSentEvent

MAX_EVENT_BYTES = 8 * 1024 * 1024
"""The largest event accepted (httpx2's own default is 1 MiB; Ollama sends a tool call's whole
arguments in one event, and a file written by a tool can be bigger than that)."""


class SSEDecoder:
    """Turns chunks of bytes into ``httpx2.ServerSentEvent`` values.

    Feed every chunk to :meth:`feed`, then call :meth:`flush` once the body has ended.

    Args:
        max_event_bytes: the largest event accepted; a bigger one raises ``httpx2.SSEError``
            (``None``: no cap).
    """

    def __init__(self, max_event_bytes: int | None = MAX_EVENT_BYTES) -> None:
        # httpx2 exports no name for the parser EventSource uses; tests/adapters/providers/
        # test_sse.py pins its behaviour.
        from httpx2._sse import _SSEParser

        self._parser = _SSEParser(max_event_bytes)
        # utf-8-sig drops a leading byte-order mark, even one split between chunks; an
        # incremental decoder holds back a character split between chunks; "replace" keeps one
        # bad byte from killing a whole reply.
        self._text = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")

    def feed(self, chunk: bytes) -> Iterator[ServerSentEvent]:
        """The events ``chunk`` completes (consume them before the next call).

        Raises:
            httpx2.SSEError: an event grew past ``max_event_bytes``.
        """
        return self._parser.decode(self._text.decode(chunk))

    def flush(self) -> Iterator[ServerSentEvent]:
        """The events the end of the body completes: a last event without its closing blank
        line is still delivered (the caller decides whether its payload is usable)."""
        return self._parser.decode(self._text.decode(b"", True) + "\n\n")
