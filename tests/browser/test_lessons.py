"""The lessons as a person meets them in JupyterLab: opening one does not mark it modified,
and Run All (which sends every cell at once) finishes every cell without an error."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.browser.conftest import shot
from tests.browser.lab import ROOT, Lab
from tests.browser.notebook import Notebook

pytestmark = pytest.mark.browser

LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))

# The current notebook's model: dirty, and every code cell's count and outputs.
STATE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = [];
  const model = panel.content.model;
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    if (cell.type !== 'code') continue;
    const outputs = [];
    for (let j = 0; j < cell.outputs.length; j++) outputs.push(cell.outputs.get(j).toJSON());
    cells.push({count: cell.executionCount, tags: cell.getMetadata('tags') || [],
                source: cell.sharedModel.getSource(), outputs});
  }
  return {dirty: panel.context.model.dirty, cells};
}"""


@pytest.fixture
def lessons(lab: Lab) -> Lab:
    """The lessons copied into the lab's root (nothing writes into the checkout)."""
    for name in LESSONS:
        shutil.copy(ROOT / "notebooks" / name, lab.project / name)
    shutil.copy(ROOT / "notebooks" / "demo_mcp_server.py", lab.project / "demo_mcp_server.py")
    return lab


def open_lesson(page: object, lab: Lab, name: str) -> Notebook:
    nb = Notebook(page, lab)
    if page.url.startswith(lab.url):  # type: ignore[attr-defined]
        page.evaluate(  # type: ignore[attr-defined]
            "(path) => window.jupyterapp.commands.execute('docmanager:open', {path})", name
        )
    else:
        page.goto(f"{lab.url}/lab/tree/{name}")  # type: ignore[attr-defined]
    page.locator(  # type: ignore[attr-defined]
        ".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current", has_text=name
    ).wait_for(timeout=60_000)
    nb.wait_kernel_idle()
    return nb


def test_opening_a_lesson_does_not_mark_it_modified(page, lessons):
    for name in LESSONS:
        open_lesson(page, lessons, name)
        assert page.evaluate(STATE)["dirty"] is False, f"{name} opened modified"


def test_run_all_of_the_queue_lesson_finishes_every_cell_without_an_error(page, lessons):
    open_lesson(page, lessons, "02_queue.ipynb")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        """() => {
          const panel = window.jupyterapp.shell.currentWidget;
          const model = panel.content.model;
          for (let i = 0; i < model.cells.length; i++) {
            const cell = model.cells.get(i);
            if (cell.type === 'code' && !cell.executionCount) return false;
          }
          const k = panel.sessionContext.session.kernel;
          return k.status === 'idle';
        }""",
        timeout=90_000,
    )
    state = page.evaluate(STATE)
    problems = []
    for cell in state["cells"]:
        errors = [
            o for o in cell["outputs"]
            if o["output_type"] == "error"
            or (o["output_type"] == "stream" and o.get("name") == "stderr")
        ]  # fmt: skip
        if "expect-error" in cell["tags"]:
            if not errors:
                problems.append(f"{cell['source'][:30]!r} should show its error")
        elif errors:
            problems.append(f"{cell['source'][:30]!r}: {json.dumps(errors)[:200]}")
    counts = [c["count"] for c in state["cells"]]
    shot(page, "run_all_02_queue", "done")
    assert problems == []
    assert counts == sorted(counts)
    assert page.locator("text=Error displaying widget").count() == 0
