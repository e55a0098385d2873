"""The lessons as a person meets them in JupyterLab: opening one does not mark it modified, and
Run All (which sends every cell at once) finishes every cell without an error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.lab import ROOT, Lab
from tests.browser.notebook import Notebook
from tests.kernel.test_demo_notebooks import CLAIMS, EXPECT_ERROR, TEST_PACE, missing_in_order

pytestmark = [pytest.mark.browser, pytest.mark.kernel, pytest.mark.slow]

LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
RUN_ALL_TIMEOUT = 90_000  # ms: 02 under Run All takes ≈10 s at the test pace

# Open a notebook; resolve once its kernel is connected and has told its language and spec.
OPEN = """async (path) => {
  const app = window.jupyterapp;
  await app.restored;
  const panel = await app.commands.execute('docmanager:open', {path});
  await panel.context.ready;
  await panel.sessionContext.ready;
  const kernel = panel.sessionContext.session.kernel;
  const info = await kernel.info;
  const spec = await kernel.spec;
  window.__lessonKernel = {
    language_info: info.language_info,
    kernelspec: {name: kernel.name, display_name: spec.display_name, language: spec.language},
  };
}"""

# JupyterLab has written what the kernel told into the notebook's metadata (when the file
# already says the same, that write changes nothing: it is the case a lesson must be in).
# Compared key by key, whatever their order.
APPLIED = """() => {
  const sorted = (v) => JSON.stringify(v, (_k, x) =>
    (x && typeof x === 'object' && !Array.isArray(x))
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x);
  const model = window.jupyterapp.shell.currentWidget.context.model;
  const told = window.__lessonKernel;
  return ['language_info', 'kernelspec'].every(
    (key) => sorted(model.getMetadata(key)) === sorted(told[key]));
}"""

# The current notebook: modified or not, and its metadata.
OPENED = """() => {
  const model = window.jupyterapp.shell.currentWidget.context.model;
  return {dirty: model.dirty, metadata: model.toJSON().metadata};
}"""

# Shut the current notebook's kernel down and close it (without asking to save).
CLOSE = """async () => {
  const panel = window.jupyterapp.shell.currentWidget;
  await panel.sessionContext.shutdown();
  panel.dispose();
}"""

# Every code cell of the current notebook has run, and its kernel is idle.
ALL_RAN = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const model = panel.content.model;
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    if (cell.type === 'code' && !cell.executionCount) return false;
  }
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle';
}"""

# Every code cell of the current notebook: its count, tags, source and outputs.
CODE_CELLS = """() => {
  const model = window.jupyterapp.shell.currentWidget.content.model;
  const cells = [];
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    if (cell.type !== 'code') continue;
    const outputs = [];
    for (let j = 0; j < cell.outputs.length; j++) outputs.push(cell.outputs.get(j).toJSON());
    cells.push({count: cell.executionCount, tags: cell.getMetadata('tags') || [],
                source: cell.sharedModel.getSource(), outputs});
  }
  return cells;
}"""

STDERR_SHOWN = (
    ".jp-NotebookPanel:visible "
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
)


@pytest.fixture
def lab_env(tmp_path: Path) -> dict[str, str]:
    """The lessons make their per-run folders under the test's tmp, at the tests' pace."""
    (tmp_path / "tmp").mkdir()
    return {"TMPDIR": str(tmp_path / "tmp"), "COLLET_DEMO_PACE": TEST_PACE}


@pytest.fixture
def lessons(lab: Lab) -> Lab:
    """The notebooks folder copied into the lab's root (nothing writes into the checkout)."""
    shutil.copytree(ROOT / "notebooks", lab.project, dirs_exist_ok=True)
    return lab


def text(output: dict[str, Any]) -> str:
    """What an output shows as text: a stream's text, a result's text/plain, a traceback."""
    if output["output_type"] == "stream":
        return "".join(output["text"])
    if output["output_type"] == "error":
        return "\n".join(output.get("traceback", [])) or f"{output['ename']}: {output['evalue']}"
    return "".join(output.get("data", {}).get("text/plain", ""))


def printed(cells: list[dict[str, Any]]) -> str:
    """Streams and results, as test_demo_notebooks reads the lessons' claims."""
    return "".join(
        text(o) + ("\n" if o["output_type"] == "execute_result" else "")
        for cell in cells
        for o in cell["outputs"]
        if o["output_type"] in ("stream", "execute_result")
    )


def is_error(output: dict[str, Any]) -> bool:
    return output["output_type"] == "error" or (
        output["output_type"] == "stream" and output["name"] == "stderr"
    )


def test_opening_a_lesson_does_not_mark_it_modified(page: Any, lessons: Lab) -> None:
    page.goto(f"{lessons.url}/lab")
    page.wait_for_function("() => !!(window.jupyterapp && window.jupyterapp.shell)")
    modified = {}
    for name in LESSONS:
        page.evaluate(OPEN, name)
        page.wait_for_function(APPLIED)
        opened = page.evaluate(OPENED)
        if opened["dirty"]:
            on_disk = json.loads((lessons.project / name).read_text())["metadata"]
            modified[name] = {
                key: {"file": on_disk.get(key), "opened": value}
                for key, value in opened["metadata"].items()
                if on_disk.get(key) != value
            }
        page.evaluate(CLOSE)
    assert modified == {}, "these lessons opened modified (metadata that changed on opening)"


def test_run_all_of_the_queue_lesson_finishes_every_cell_without_an_error(
    page: Any, lessons: Lab, request: pytest.FixtureRequest
) -> None:
    nb = Notebook(page, lessons)
    page.goto(f"{lessons.url}/lab/tree/02_queue.ipynb")
    nb.wait_kernel_idle()
    # Run → Run All Cells, as a person does (for a notebook, the menu runs notebook:run-all-cells).
    page.locator(".lm-MenuBar-item", has_text="Run").click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    try:
        page.wait_for_function(ALL_RAN, timeout=RUN_ALL_TIMEOUT)
    except PlaywrightTimeoutError:
        waiting = [c["source"][:40] for c in page.evaluate(CODE_CELLS) if not c["count"]]
        pytest.fail(f"{len(waiting)} cells never ran (or the kernel never went idle): {waiting}")
    cells = page.evaluate(CODE_CELLS)

    # The first views (the slow answer, the queue), then the end (every message's final state).
    code_cells = page.locator(".jp-NotebookPanel:visible .jp-CodeCell")
    for what, cell in (("top", code_cells.nth(1)), ("end", code_cells.last)):
        cell.scroll_into_view_if_needed()
        expect(cell.locator(".jp-OutputArea-output").last).to_be_visible()
        shot(page, request.node.name, what)

    problems = []
    for cell in cells:
        errors = [text(o) for o in cell["outputs"] if is_error(o)]
        tracebacks = [text(o) for o in cell["outputs"] if "Traceback" in text(o)]
        where = cell["source"].partition("\n")[0]
        if EXPECT_ERROR in cell["tags"]:
            if not any(e.startswith("collet: ") for e in errors):
                problems.append(f"{where!r} should say why it cannot act, in a collet: line")
        elif errors or tracebacks:
            problems.append(f"{where!r}: {(errors + tracebacks)[0][:300]}")
    assert problems == []
    counts = [cell["count"] for cell in cells]
    assert counts == sorted(counts)
    assert len(set(counts)) == len(counts)
    # What a person sees: the one expected collet: line in red, no widget that failed to show
    # (with JupyterLab's default windowing, contentVisibility, every cell is in the page).
    expected = sum(
        1 for cell in cells if EXPECT_ERROR in cell["tags"] for o in cell["outputs"] if is_error(o)
    )
    assert page.locator(STDERR_SHOWN).count() == expected
    assert page.locator("text=Error displaying widget").count() == 0
    assert missing_in_order(printed(cells), CLAIMS["02_queue"]) == []


# Run the active cell and select the next one (Shift+Enter); resolve once it has a count.
RUN_ONE = """async () => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  const cell = panel.content.activeCell;
  await app.commands.execute('notebook:run-cell-and-select-next');
  return cell.model.type === 'code' ? cell.model.sharedModel.getSource().slice(0, 40) : '';
}"""


def test_the_data_lesson_run_cell_by_cell_ends_with_the_agents_fix(
    page: Any, lessons: Lab, request: pytest.FixtureRequest
) -> None:
    # As the lesson asks in JupyterLab: one cell at a time, each after the one before is done
    # (the agent inserts, runs, fixes and reruns cells through the page meanwhile).
    nb = Notebook(page, lessons)
    page.goto(f"{lessons.url}/lab/tree/07_data.ipynb")
    nb.wait_kernel_idle()
    total = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model.cells.length")
    page.evaluate("() => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 0; }")
    for _ in range(total):
        page.evaluate(RUN_ONE)
        page.wait_for_timeout(300)  # the agent's runs start on their own, between cells
        nb.wait_kernel_idle(timeout=RUN_ALL_TIMEOUT)
    shot(page, request.node.name, "end")
    cells = page.evaluate(CODE_CELLS)
    # The lesson's own last cell reads the column the agent's fixed cell made.
    (check,) = [c for c in cells if c["source"].startswith('print(data.groupby("region")')]
    assert not [o for o in check["outputs"] if is_error(o)], text(check["outputs"][0])
    assert "north    67.5" in printed([check])
    # The agent's cell, marked with its message, ran without an error.
    (agents,) = [c for c in cells if 'data["revenue"] = data["units"]' in c["source"]]
    assert agents["count"]
    assert not [o for o in agents["outputs"] if is_error(o)]
