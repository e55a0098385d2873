"""The reliability suite's size switch and its figures, printed at the end of the run."""

from __future__ import annotations

import json

import pytest

from tests.reliability.figures import FIGURES


@pytest.fixture(scope="session")
def long_run(request) -> bool:
    """Whether ``--long`` asked for the full sizes (the CI default is a few minutes in all)."""
    return bool(request.config.getoption("--long"))


def pytest_terminal_summary(terminalreporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("collet reliability figures")
    for name, figures in FIGURES.items():
        terminalreporter.write_line(f"{name}: {json.dumps(figures, sort_keys=True)}")
