"""Server-Sent Events over raw bytes, with httpx2's own parser: the one behind
``httpx2.EventSource`` (WHATWG line rules, and its cap on an event's size).

``EventSource`` itself is not used: it drops a last event that has no closing blank line (some
servers end a stream that way), keeps a leading byte-order mark in the first field name, refuses
any content type but ``text/event-stream`` (the caller judges that), and hands out one event per
async step where a network read usually completes several. This wrapper feeds the same parser,
fixing those two behaviours, and gives the events of one read together.

:meth:`SSEDecoder.events` takes a whole batch of bytes at once (what a fast server delivered
while the reader was busy) and reads the plain events every model API sends — an optional
``event:`` line and one ``data:`` line, ``\n`` line ends — with ``str.split``, in C; anything
else in the batch (comments, ids, several data lines, ``\r`` line ends) goes through the
parser, so what comes out is what the parser alone would give (a property test checks it).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from httpx2 import ServerSentEvent

MAX_EVENT_BYTES = 8 * 1024 * 1024
"""The largest event accepted (httpx2's own default is 1 MiB; Ollama sends a tool call's whole
arguments in one event, and a file written by a tool can be bigger than that)."""


class Event(NamedTuple):
    """One event (the fields a decoder reads of ``httpx2.ServerSentEvent``)."""

    event: str
    data: str


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
        self._cap = max_event_bytes
        self._rest = ""  # the start of an event whose blank line has not come yet
        self._slow = False  # \r line ends seen: the parser reads everything from now on

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

    def events(self, chunk: bytes) -> list[Event | ServerSentEvent]:
        """The events ``chunk`` completes, like :meth:`feed`, read in bulk.

        Raises:
            httpx2.SSEError: an event grew past ``max_event_bytes``.
        """
        text = self._text.decode(chunk)
        if self._slow or "\r" in text:
            # A \r may end a line: only the parser knows where events end now.
            self._slow = True
            text, self._rest = self._rest + text, ""
            return list(self._parser.decode(text))
        text = self._rest + text
        end = text.rfind("\n\n")
        self._rest = text[end + 2 :] if end >= 0 else text
        if self._cap is not None and len(self._rest) > self._cap:
            import httpx2

            # The parser's own words, for an event still growing past the cap.
            raise httpx2.SSEError(f"Server-sent event exceeded the {self._cap} byte limit.")
        if end < 0:
            return []
        out: list[Event | ServerSentEvent] = []
        cap = self._cap if self._cap is not None else len(text)
        for block in text[:end].split("\n\n"):
            if len(block) > cap:
                pass  # the parser raises its size error
            elif block.startswith("data:") and "\n" not in block:
                data = block[5:]
                out.append(Event("message", data[1:] if data[:1] == " " else data))
                continue
            elif block.startswith("event:") and block.count("\n") == 1:
                head, _, line = block.partition("\n")
                if line.startswith("data:"):
                    name, data = head[6:], line[5:]
                    name = name[1:] if name[:1] == " " else name
                    out.append(Event(name or "message", data[1:] if data[:1] == " " else data))
                    continue
            out.extend(self._parser.decode(block + "\n\n"))
        return out

    def rest(self) -> list[Event | ServerSentEvent]:
        """After :meth:`events`: the events the end of the body completes."""
        text, self._rest = self._rest, ""
        return list(self._parser.decode(text + self._text.decode(b"", True) + "\n\n"))
