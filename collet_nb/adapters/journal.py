"""The JSONL journal: ``$COLLET_HOME/sessions/<session_id>.jsonl``, append-only, one record a
line. Durable records are fsynced before ``append`` returns; a torn last line (a crash mid
write) is skipped on read.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("collet_nb")


def journal_path(home: Path, session_id: str) -> Path:
    """Where the journal of ``session_id`` lives under COLLET_HOME."""
    return home / "sessions" / f"{session_id}.jsonl"


class JsonlJournal:
    """Appends records to one JSONL file (opened lazily, kept open)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = None

    def append(self, record: Mapping[str, Any], *, durable: bool = False) -> None:
        """Write one record; flush always, fsync when ``durable``.

        Raises:
            OSError: when the file cannot be written.
        """
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # A lone surrogate becomes its JSON escape (\udXXX), which reads back the same.
            self._fh = self.path.open("a", encoding="utf-8", errors="backslashreplace")
        self._fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._fh.flush()
        if durable:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Close the file (a later append reopens it)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every readable record of a journal, in order.

    A last line without its newline that does not parse is a torn write and is skipped
    quietly; any other bad line is skipped with a warning naming it.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")
    records: list[dict[str, Any]] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            if number != len(lines):
                log.warning("collet: skipped unreadable line %d of %s", number, path)
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def read_header(path: Path) -> dict[str, Any]:
    """The first record of a journal (its ``session`` header), without reading the rest.

    Returns an empty dict when the file is missing, empty or starts with an unreadable line.
    """
    try:
        with path.open("rb") as fh:
            first = fh.readline(64 * 1024)
        record = json.loads(first.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return record if isinstance(record, dict) else {}
