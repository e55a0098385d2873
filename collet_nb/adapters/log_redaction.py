"""Secrets kept out of log records: collet_nb's own and those of the libraries it drives.

A filter on the ``collet_nb`` logger alone would miss the records of its child loggers
(filters do not apply to propagated records), and loggers are made lazily as modules load.
So a log-record factory, chained in front of whatever factory was installed, puts the filter
on each logger named here the first time that logger makes a record; the filter then runs
before any handler sees the record (``extra`` fields included).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from collet_nb.core.redact import Redactor

# Loggers whose records may carry what collet_nb handled (keys in URLs, server replies).
LOGGERS = ("collet_nb", "stamina", "httpx2", "mcp")

# Attributes every LogRecord has; anything else is an ``extra`` field, redacted too.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class SecretLogFilter(logging.Filter):
    """Redacts a record in place (message, arguments, traceback, extra fields); drops nothing.

    Args:
        secrets: returns the redactor in force (read for every record, so new keys count).
    """

    def __init__(self, secrets: Callable[[], Redactor]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the secrets of ``record``; always keep it."""
        try:
            self._redact(record)
        except Exception:  # logging must never raise at the call site, nor leak
            record.msg, record.args, record.exc_info, record.exc_text = (
                "collet: a log record could not be redacted and was dropped",
                None,
                None,
                None,
            )
        return True

    def _redact(self, record: logging.LogRecord) -> None:
        redactor = self.secrets()
        if not redactor:
            return
        record.msg = redactor.text(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redactor.text(record.exc_text)
            # The handler's formatter would render the live exception again, unredacted.
            record.exc_info = None
        for name, value in list(record.__dict__.items()):
            if name not in _STANDARD and isinstance(value, (str, dict, list, tuple)):
                setattr(record, name, redactor.data(value))


def _ours(name: str) -> bool:
    return any(name == n or name.startswith(n + ".") for n in LOGGERS)


def install_log_redaction(log_filter: SecretLogFilter) -> Callable[[], None]:
    """Apply ``log_filter`` to every record of ``LOGGERS`` from now on; returns the undo."""
    previous = logging.getLogRecordFactory()
    attached: set[str] = set()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.name not in attached and _ours(record.name):
            # The logger's own filters run after this record is complete and before handlers.
            logging.getLogger(record.name).addFilter(log_filter)
            attached.add(record.name)
        return record

    logging.setLogRecordFactory(factory)
    for name in LOGGERS:
        logging.getLogger(name).addFilter(log_filter)
        attached.add(name)

    def undo() -> None:
        for name in attached:
            logging.getLogger(name).removeFilter(log_filter)
        attached.clear()
        # Only if nobody chained another factory in front of ours since.
        if logging.getLogRecordFactory() is factory:
            logging.setLogRecordFactory(previous)

    return undo
