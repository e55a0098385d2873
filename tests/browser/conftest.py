"""Fixtures of the browser tests: one headless Debian Chromium per session, a JupyterLab per
test (stopped at teardown whatever happened), screenshots under .ci/out/browser/.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.lab import ROOT, Lab

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = ROOT / ".ci" / "out" / "browser"

# .ci/run installs Debian's chromium; a developer machine may not have it yet. Then each test
# that needs the browser is skipped by the `browser` fixture (the rest of tests/browser, which
# reads sources or builds the wheel, still runs), and the run ends with a box saying how many.
NO_CHROMIUM = f"{CHROMIUM} is missing: `apt-get install -y chromium` (never `playwright install`)"


def chromium_missing() -> bool:
    return not os.path.exists(CHROMIUM)


INSTALLED = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "collet-nb" / "package.json"


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in this
# thread while it is open, and later tests that call asyncio.run() would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if chromium_missing():
        pytest.skip(NO_CHROMIUM)
    if not INSTALLED.exists():
        # Fail, never skip: a missing sidebar is exactly what these tests are for.
        pytest.fail(
            f"the collet sidebar is not installed ({INSTALLED} is missing): run "
            "scripts/setup.sh with Node.js and npm on the PATH"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def lab_env() -> dict[str, str]:
    """Extra environment of the test's JupyterLab (a test overrides it to change the pace)."""
    return {}


@pytest.fixture
def lab(tmp_path: Path, lab_env: dict[str, str]) -> Iterator[Lab]:
    server = Lab.start(tmp_path, env=lab_env)
    try:
        yield server
    finally:
        server.stop()
    assert server.kernel_pids() == [], "a kernel outlived its JupyterLab"


@pytest.fixture
def foreign_page_errors() -> tuple[tuple[str, str], ...]:
    """Uncaught page errors a test expects from code that is not ours: (message, a part of
    the stack's script URL) pairs. Any other page error fails the test."""
    return ()


@pytest.fixture
def page(
    browser,
    lab: Lab,
    request: pytest.FixtureRequest,
    foreign_page_errors: tuple[tuple[str, str], ...],
) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []

    def on_error(exc: Any) -> None:
        stack = str(getattr(exc, "stack", "") or "")
        if not any(str(exc) == m and where in stack for m, where in foreign_page_errors):
            errors.append(str(exc))

    page.on("pageerror", on_error)
    page.on(
        "console",
        lambda msg: (
            errors.append(f"console.{msg.type}: {msg.text}")
            if msg.type == "error" and "collet" in msg.text.lower()
            else None
        ),
    )
    try:
        yield page
    finally:
        if getattr(request.node, "failed", False):
            shot(page, request.node.name, "failure")
        context.close()
    assert errors == [], "the page had uncaught errors"


def skipped_for_chromium(terminalreporter: Any) -> int:
    """How many tests of this run were skipped because Chromium is missing."""
    return sum(
        1
        for report in terminalreporter.stats.get("skipped", [])
        if isinstance(report.longrepr, tuple) and CHROMIUM in str(report.longrepr[-1])
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> Iterator[None]:
    """After pytest's own summary (the outermost wrapper: its code after ``yield`` runs last),
    a box saying how many browser tests were skipped: the -ra lines scroll by unread."""
    result = yield
    terminalreporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if terminalreporter is not None:
        box_skipped_browser_tests(terminalreporter)
    return result


def box_skipped_browser_tests(terminalreporter: Any) -> None:
    count = skipped_for_chromium(terminalreporter)
    if not count:
        return
    lines = [
        f"{count} BROWSER TEST{'S' if count != 1 else ''} SKIPPED: {CHROMIUM} is missing.",
        "The sidebar and the cell views were not tested in a real browser.",
        "Install it (as root): apt-get install -y chromium   (never `playwright install`)",
        "then run them: bash scripts/test.sh tests/browser",
    ]
    width = max(len(line) for line in lines)
    terminalreporter.write_line("┏" + "━" * (width + 2) + "┓", yellow=True, bold=True)
    for line in lines:
        terminalreporter.write_line(f"┃ {line.ljust(width)} ┃", yellow=True, bold=True)
    terminalreporter.write_line("┗" + "━" * (width + 2) + "┛", yellow=True, bold=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if report.when == "call" and report.failed:  # type: ignore[attr-defined]
        item.failed = True  # type: ignore[attr-defined]
    return report


def shot(page: object, test_name: str, what: str, selector: str | None = None) -> Path:
    """Save a screenshot (of ``selector``, else the page) as a test artifact; print its path."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{re.sub(r'[^A-Za-z0-9_-]+', '_', test_name)}-{what}.png"
    target = page.locator(selector) if selector else page  # type: ignore[attr-defined]
    target.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path
