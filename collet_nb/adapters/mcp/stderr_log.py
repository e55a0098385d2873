"""The file a stdio server's stderr goes to (never the kernel's, which would land in a cell),
and the last lines of the current run for error messages; a server's log notifications are
appended to it too (an HTTP server's file holds only those).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO

_TAIL_BYTES = 16_384  # enough for the last few lines of any sane log
_LINE_CHARS = 300


class StderrLog:
    """``<log_dir>/mcp-<name>.log``, appended to by every run of one server."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: TextIO | None = None
        self._start = 0

    def open(self, banner: str) -> TextIO:
        """Open the log for a new run (a line with ``banner`` marks where it starts).

        Raises:
            OSError: when the log directory cannot be created or written.
        """
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        log = self.path.open("a", encoding="utf-8", errors="replace")
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} collet_nb starts {banner}\n")
        log.flush()
        self._start = log.tell()
        self._file = log
        return log

    def note(self, line: str) -> None:
        """Append one line of ours (a log notification), stamped; never raises."""
        stamped = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n"
        try:
            if self._file is not None:
                self._file.write(stamped)
                self._file.flush()
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8", errors="replace") as log:
                log.write(stamped)
        except (OSError, ValueError):  # a full disk or a closed file must not end the session
            pass

    def close(self) -> None:
        """Close our handle (the server holds its own copy of the descriptor)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def tail(self, lines: int = 5) -> list[str]:
        """The last ``lines`` non-blank lines the current run wrote (each cut to 300 chars)."""
        try:
            with self.path.open("rb") as log:
                log.seek(max(self._start, log.seek(0, 2) - _TAIL_BYTES))
                raw = log.read()
        except OSError:
            return []
        text = raw.decode("utf-8", errors="replace")
        kept = [line.rstrip() for line in text.splitlines() if line.strip()][-lines:]
        return [line if len(line) <= _LINE_CHARS else line[:_LINE_CHARS] + "…" for line in kept]
