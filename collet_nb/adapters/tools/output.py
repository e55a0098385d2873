"""How much the built-in tools hand back to the model, and how over-long text is cut to fit.

Cuts keep the head and the tail (where errors and summaries usually are) and say what was cut.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Caps on what the built-in tools read and return.

    Attributes:
        read_lines: lines ``file_read`` returns when the model gives no ``limit``.
        line_chars: characters kept of one line in ``file_read`` output.
        file_bytes: size above which ``file_read``/``file_edit`` refuse a file and ``search``
            skips it.
        output_chars: characters of ``bash`` output (and of an edit's diff) returned.
        search_matches: matching lines ``search`` returns.
    """

    read_lines: int = 2000
    line_chars: int = 2000
    file_bytes: int = 5_000_000
    output_chars: int = 30_000
    search_matches: int = 200

    def __post_init__(self) -> None:
        for name in ("read_lines", "line_chars", "file_bytes", "output_chars", "search_matches"):
            if getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be at least 1, not {getattr(self, name)}")


def truncate_middle(text: str, cap: int) -> str:
    """Return ``text``, or its head and tail with a note of how many characters were cut."""
    if len(text) <= cap:
        return text
    head = cap // 2
    tail = cap - head
    cut = len(text) - cap
    end = text[-tail:] if tail else ""
    return f"{text[:head]}\n[… {cut:,} characters cut …]\n{end}"


class OutputBuffer:
    """Collects a process's output in bounded memory, keeping its head and its tail.

    A command may print gigabytes: only ``4 * cap`` bytes are kept at each end (a UTF-8
    character is at most 4 bytes, so each end still holds ``cap`` characters).
    """

    def __init__(self, cap: int) -> None:
        if cap < 1:
            raise ValueError(f"output cap must be at least 1, not {cap}")
        self._cap = cap
        self._keep = 4 * cap
        self._head = bytearray()
        self._tail = bytearray()
        self.total_bytes = 0

    def feed(self, data: bytes) -> None:
        """Add a chunk of output."""
        self.total_bytes += len(data)
        room = self._keep - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if data:
            self._tail += data
            excess = len(self._tail) - self._keep
            if excess > 0:
                del self._tail[:excess]

    def render(self) -> str:
        """The output as text, cut to the cap with a note when it was longer."""
        dropped = self.total_bytes - len(self._head) - len(self._tail)
        if dropped == 0:
            return truncate_middle(
                bytes(self._head + self._tail).decode("utf-8", "replace"), self._cap
            )
        # The middle is gone, so characters cannot be counted: report bytes. The cut points may
        # split a character: leave out the partial sequences rather than show replacement marks.
        head_text = codecs.getincrementaldecoder("utf-8")("replace").decode(bytes(self._head))
        tail = bytes(self._tail)
        start = 0
        while start < min(3, len(tail)) and tail[start] & 0xC0 == 0x80:
            start += 1
        tail_text = tail[start:].decode("utf-8", "replace")
        head_text = head_text[: self._cap // 2]
        tail_keep = self._cap - self._cap // 2
        tail_text = tail_text[-tail_keep:] if tail_keep else ""
        cut = self.total_bytes - len(head_text.encode()) - len(tail_text.encode())
        return f"{head_text}\n[… about {cut:,} bytes of output cut …]\n{tail_text}"
