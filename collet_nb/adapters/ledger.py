"""A user's usage ledger, for daily budgets: ``$COLLET_HOME/usage/<YYYY-MM-DD>.jsonl``, one
line per model request (its tokens, its USD where the price is known, the session and the
model; never a key or a message).

Every kernel of the user appends to the same day's file: each line is one ``write`` under an
exclusive POSIX lock (``fcntl.lockf``, which NFS home directories honour too), so concurrent
kernels neither interleave nor lose lines, and a line torn by a crash is closed before the next
one. A reader takes a shared lock and reads only what was added since its last read. A new
local day is a new file: the day's budget renews at midnight, server time.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from collet_nb.errors import ConfigError

log = logging.getLogger("collet_nb")

FOLDER = "usage"


def local_day(now: float | None = None) -> str:
    """The local calendar day of ``now`` (default: now), as ``YYYY-MM-DD``."""
    return time.strftime("%Y-%m-%d", time.localtime(now))


class UsageLedger:
    """The day's usage of one user (one COLLET_HOME), shared by all their kernels.

    Args:
        home: the user's COLLET_HOME.
        today: the current day's name (tests pass their own).
        now: the wall clock, for each line's time.
    """

    def __init__(
        self,
        home: Path,
        *,
        today: Callable[[], str] = local_day,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.folder = Path(home).expanduser() / FOLDER
        self.today = today
        self.now = now
        self._day = ""
        self._offset = 0
        self._tokens = 0
        self._usd = 0.0

    def path(self, day: str | None = None) -> Path:
        """The file of ``day`` (default: today)."""
        return self.folder / f"{day or self.today()}.jsonl"

    def add(
        self, *, session_id: str, model: str, prompt: int, completion: int, usd: float | None
    ) -> None:
        """Record one request's usage. A ledger that cannot be written is logged, not raised:
        the request has happened, and the turn goes on."""
        record = {
            "at": round(self.now(), 3),
            "session": session_id,
            "model": model,
            "prompt": prompt,
            "completion": completion,
            "usd": usd,
        }
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path(), os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX)
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line  # close a line a crash tore
                os.write(fd, line)
            finally:
                os.close(fd)  # closing releases the lock
        except OSError as exc:
            log.warning("collet: could not record usage in %s: %s", self.folder, exc)

    def totals(self) -> tuple[int, float]:
        """Today's tokens and USD, over every session and kernel of this user.

        Raises:
            ConfigError: when the day's file exists but cannot be read (the daily budget
                cannot be checked, so no request goes until it is fixed).
        """
        day = self.today()
        if day != self._day:
            self._day, self._offset, self._tokens, self._usd = day, 0, 0, 0.0
        path = self.path(day)
        try:
            with path.open("rb") as fh:
                fcntl.lockf(fh, fcntl.LOCK_SH)
                fh.seek(self._offset)
                data = fh.read()
        except FileNotFoundError:
            return self._tokens, self._usd
        except OSError as exc:
            raise ConfigError(
                f"cannot read the usage ledger {path} ({exc}), so the daily budget cannot be "
                "checked; make it readable, or remove it to start the day's count again",
                key=str(path),
            ) from None
        complete = data[: data.rfind(b"\n") + 1]  # a line being written is read next time
        self._offset += len(complete)
        for raw in complete.splitlines():
            try:
                record = json.loads(raw)
                tokens = int(record["prompt"]) + int(record["completion"])
                usd = float(record["usd"] or 0.0)
            except (ValueError, KeyError, TypeError):
                if raw.strip():
                    log.warning("collet: skipped an unreadable line of %s", path)
                continue
            self._tokens += tokens
            self._usd += usd
        return self._tokens, self._usd
