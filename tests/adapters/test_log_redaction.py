"""Secrets kept out of log records: child loggers, arguments, extra fields, tracebacks."""

import logging

import pytest

from collet_nb.adapters.log_redaction import SecretLogFilter, install_log_redaction
from collet_nb.core.redact import Redactor

KEY = "sk-log-0123456789abcdef"


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(message)s %(note)s", defaults={"note": ""}))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def lines():
    handler = Lines()
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    undo = install_log_redaction(SecretLogFilter(lambda: Redactor.build(keys=[KEY])))
    yield handler.lines
    undo()
    root.removeHandler(handler)
    root.setLevel(level)


def test_records_of_collet_and_its_libraries_are_masked_everywhere(lines):
    # A logger made after the install, deep in the package, as modules make them.
    child = logging.getLogger("collet_nb.adapters.some.new_module")
    child.warning("key %s", KEY)
    logging.getLogger("stamina").warning("retry", extra={"note": f"caused by {KEY!r}"})
    try:
        raise RuntimeError(f"refused {KEY}")
    except RuntimeError:
        logging.getLogger("collet_nb").exception("boom")
    text = "\n".join(lines)
    assert KEY not in text
    assert "key ***" in text
    assert "caused by '***'" in text
    assert "RuntimeError: refused ***" in text  # the traceback stays, masked


def test_other_loggers_are_left_alone_and_each_of_ours_gets_the_filter(lines):
    logging.getLogger("someone.else").warning("key %s", KEY)
    assert KEY in lines[-1]
    logger = logging.getLogger("collet_nb.undo_probe")
    logger.warning("probe")
    assert any(isinstance(f, SecretLogFilter) for f in logger.filters)


def test_a_broken_redactor_never_breaks_the_caller():
    def broken() -> Redactor:
        raise RuntimeError("no secrets today")

    handler = Lines()
    logger = logging.getLogger("collet_nb.broken_probe")
    logger.addHandler(handler)
    undo = install_log_redaction(SecretLogFilter(broken))
    try:
        logger.error("key %s", KEY)
    finally:
        undo()
        logger.removeHandler(handler)
    assert KEY not in handler.lines[0]
    assert "could not be redacted" in handler.lines[0]
    assert not any(isinstance(f, SecretLogFilter) for f in logger.filters)
