"""Incremental Server-Sent Events decoder over raw bytes (WHATWG rules): bytes may split
anywhere, even inside a UTF-8 character or a CRLF pair, and each event comes out once."""

from __future__ import annotations

import codecs
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class SSEEvent:
    """One dispatched event.

    Attributes:
        event: the event type (``message`` when the stream named none).
        data: the data lines joined by newlines.
        id: the last event id seen so far, if any.
        retry: a reconnection time the server asked for, in milliseconds.
    """

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Turns chunks of bytes into :class:`SSEEvent` values.

    Feed every chunk to :meth:`feed`, then call :meth:`flush` once the body has ended.
    """

    def __init__(self) -> None:
        # An incremental decoder holds back a character split between chunks instead of
        # mangling it; "replace" keeps one bad byte from killing a whole reply.
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        # Text after the last line break; kept as parts so a long line split into many small
        # chunks is joined once, not re-scanned for every chunk.
        self._pending: list[str] = []
        self._started = False
        self._event_type = ""
        self._data: list[str] = []
        self._last_id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Decode ``chunk`` and return the events it completes."""
        return self._consume(self._decoder.decode(chunk), final=False)

    def flush(self) -> list[SSEEvent]:
        """Return what the end of the body completes.

        A last event without its closing blank line is still delivered: some servers end
        the stream that way, and the caller decides whether the payload is usable.
        """
        events = self._consume(self._decoder.decode(b"", final=True), final=True)
        if self._pending:
            events.extend(self._line("".join(self._pending)))
            self._pending = []
        if self._data:
            events.extend(self._dispatch())
        return events

    def _consume(self, text: str, *, final: bool) -> list[SSEEvent]:
        if not self._started and text:
            self._started = True
            if text.startswith("\ufeff"):
                text = text[1:]
        if (
            not final
            and "\n" not in text
            and "\r" not in text
            and not (self._pending and self._pending[-1].endswith("\r"))
        ):
            if text:
                self._pending.append(text)
            return []
        buffer = "".join(self._pending) + text
        events: list[SSEEvent] = []
        start = 0
        length = len(buffer)
        while True:
            cr = buffer.find("\r", start)
            lf = buffer.find("\n", start)
            if cr == -1 and lf == -1:
                break
            if cr == -1 or (lf != -1 and lf < cr):
                end, after = lf, lf + 1
            elif cr + 1 < length:
                end, after = cr, cr + 2 if buffer[cr + 1] == "\n" else cr + 1
            elif final:
                end, after = cr, cr + 1
            else:
                # A trailing CR may be the first half of a CRLF pair: wait for the next byte.
                break
            events.extend(self._line(buffer[start:end]))
            start = after
        self._pending = [buffer[start:]] if start < length else []
        return events

    def _line(self, line: str) -> list[SSEEvent]:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return []
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "event":
            self._event_type = value
        elif field == "data":
            self._data.append(value)
        elif field == "id":
            if "\0" not in value:
                self._last_id = value
        elif field == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return []

    def _dispatch(self) -> list[SSEEvent]:
        if not self._data:
            # Per the spec, an event without data lines is dropped (its type resets).
            self._event_type = ""
            return []
        event = SSEEvent(
            event=self._event_type or "message",
            data="\n".join(self._data),
            id=self._last_id,
            retry=self._retry,
        )
        self._event_type = ""
        self._data = []
        return [event]
