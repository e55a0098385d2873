"""The agent runs cells through the page (issue 20, ``notebook_run``), in a real JupyterLab and
in Notebook 7: it reads the notebook, inserts a cell (marked with its message: a badge on the
cell), asks to run it (the approval shows the code and the variable it would overwrite), the
cell runs as if the person ran it and its error lands in the notebook and reaches the model,
which fixes the cell (a diff at its approval) and runs it again; then it deletes a scratch
cell. A cell that waits for the agent (``--wait``) holds the kernel: it gives way as soon as
the agent needs the kernel, so the run and the turn finish instead of deadlocking.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.notebook import SIDEBAR, Notebook

pytestmark = [pytest.mark.browser, pytest.mark.kernel, pytest.mark.slow]

LOAD_TIMEOUT = 20_000  # ms
TURN_TIMEOUT = 60_000  # ms
SCRATCH = "# scratch\nprint('tmp')"
DATA = """%load_ext collet_nb
from pathlib import Path
data = Path("sales.csv")
data.write_text(
    "region,month,units,price\\n"
    "north,2024-01,12,2.50\\nnorth,2024-02,15,2.50\\n"
    "south,2024-01,9,3.00\\nsouth,2024-02,11,3.00\\n"
    "east,2024-01,4,4.00\\neast,2024-02,0,4.00\\n"
)"""
FIXED = 'data["revenue"] = data["units"] * data["price"]'

# Every cell of the visible notebook's model: id, type, source, mark, count, output types.
CELLS = """() => {
  const model = window.jupyterapp.shell.currentWidget.content.model;
  const cells = [];
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    const outputs = [];
    if (cell.type === 'code') {
      for (let j = 0; j < cell.outputs.length; j++) outputs.push(cell.outputs.get(j).toJSON());
    }
    cells.push({id: cell.id, type: cell.type, source: cell.sharedModel.getSource(),
                mark: cell.getMetadata('collet_nb') ?? null,
                count: cell.type === 'code' ? cell.executionCount : null, outputs});
  }
  return cells;
}"""


# A new empty code cell at the end (Notebook.run types into the last code cell, which may be
# the agent's).
APPEND = """() => {
  const shared = window.jupyterapp.shell.currentWidget.content.model.sharedModel;
  shared.insertCell(shared.cells.length, {cell_type: 'code', source: '', metadata: {}});
}"""


def run_below(nb: Notebook, code: str) -> Any:
    """Run ``code`` in a new cell at the end; return that cell's output area."""
    nb.page.evaluate(APPEND)
    index = nb.page.locator(".jp-NotebookPanel:visible .jp-CodeCell").count() - 1
    nb.run(code)
    return nb.cell_output(index)


def painted(page: Any) -> None:
    """Wait for two frames: a cell scrolled into view is painted before the screenshot."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def cells(nb: Notebook) -> list[dict[str, Any]]:
    return list(nb.page.evaluate(CELLS))


def card(nb: Notebook, tool: str, n: int = 0) -> Any:
    return nb.entry("m1").locator(f'.collet-tool[data-tool="{tool}"]').nth(n)


def allow(tool_card: Any, button: str = "Allow once") -> None:
    expect(tool_card).to_have_attribute("data-stage", "awaiting", timeout=TURN_TIMEOUT)
    tool_card.get_by_role("button", name=button).click()


def start(nb: Notebook, name: str) -> None:
    """Open a notebook with a scratch cell, load collet_nb and make the CSV, open the sidebar."""
    nb.open(name, SCRATCH, "")
    nb.open_sidebar()
    nb.run(DATA)
    expect(nb.sidebar.locator(".jp-ColletSidebar-status")).to_contain_text(
        "provider demo", timeout=LOAD_TIMEOUT
    )


@pytest.fixture
def nb(page, lab) -> Notebook:
    return Notebook(page, lab)


def test_the_agent_inserts_runs_fixes_and_reruns_a_cell_through_the_page(nb, request):
    start(nb, "sales.ipynb")
    nb.type_in_sidebar("explore sales.csv")

    allow(card(nb, "notebook_insert"))
    # The new cell is at the end of the notebook, marked with the message, and has not run.
    expect(nb.page.locator(".jp-NotebookPanel:visible .collet-cell-mark")).to_have_text(
        "collet · m1", timeout=TURN_TIMEOUT
    )
    inserted = cells(nb)[-1]
    assert inserted["mark"] == {"message_id": "m1"}
    assert inserted["count"] is None
    where = f"cell {len(cells(nb)) - 1} (id {inserted['id']})"

    run = card(nb, "notebook_run")
    expect(run).to_have_attribute("data-stage", "awaiting", timeout=TURN_TIMEOUT)
    # The approval shows the code that will run and what it would overwrite (`data`).
    expect(run.locator(".collet-warning")).to_have_text("would overwrite: data")
    expect(run).to_contain_text('data["units"] * data["unit_price"]')
    expect(run.locator(".collet-tool-summary")).to_contain_text(f"sales.ipynb {where}")
    shot(nb.page, request.node.name, "run-awaits", SIDEBAR)
    run.get_by_role("button", name="Allow once").click()

    # It ran in the page as if the person ran it: the KeyError is in the cell's outputs, and
    # the model read it.
    edit = card(nb, "notebook_edit")
    expect(edit).to_have_attribute("data-stage", "awaiting", timeout=TURN_TIMEOUT)
    ran = cells(nb)[-1]
    assert ran["count"] is not None
    assert [o["output_type"] for o in ran["outputs"]] == ["error"]
    assert ran["outputs"][0]["ename"] == "KeyError"
    run.get_by_text("result ·").click()  # unfold the result
    expect(run).to_contain_text(f"Ran {where} as [{ran['count']}]: it raised KeyError")
    # The fix shows as a diff at its approval.
    expect(edit.locator(".collet-diff, pre").first).to_contain_text(f"+{FIXED}")
    shot(nb.page, request.node.name, "fix-awaits")
    edit.get_by_role("button", name="Allow once").click()
    allow(card(nb, "notebook_run", 1))
    expect(nb.entry("m1")).to_have_attribute("data-status", "answered", timeout=TURN_TIMEOUT)

    done = cells(nb)
    assert [c["source"] for c in done[:2]] == [SCRATCH, DATA]
    last = done[-1]
    assert last["id"] == inserted["id"]
    assert FIXED in last["source"]
    assert last["mark"] == {"message_id": "m1"}
    assert last["count"] > ran["count"]
    assert "north    67.5" in "".join(last["outputs"][0]["data"]["text/plain"])
    marked = nb.page.locator(".jp-NotebookPanel:visible .jp-Cell.collet-agent-cell")
    expect(marked).to_have_count(1)
    marked.scroll_into_view_if_needed()
    expect(marked.locator(".collet-cell-mark")).to_be_visible()
    shot(nb.page, request.node.name, "fixed-and-ran")

    # Then the agent deletes the scratch cell (by id, from its read).
    nb.type_in_sidebar("remove the scratch cell")
    delete = nb.entry("m2").locator('.collet-tool[data-tool="notebook_delete"]')
    allow(delete)
    expect(nb.entry("m2")).to_have_attribute("data-status", "answered", timeout=TURN_TIMEOUT)
    # (The sidebar adds each message's transcript as a Markdown cell: code cells are compared.)
    code = [c["id"] for c in cells(nb) if c["type"] == "code"]
    assert code == [c["id"] for c in done if c["type"] == "code" and c["source"] != SCRATCH]


def test_a_wait_that_holds_the_kernel_gives_way_to_the_agents_run_instead_of_deadlocking(
    nb, request
):
    start(nb, "wait.ipynb")
    nb.run("%collet /approval yolo")  # nothing waits for a person: only the kernel can block
    started = time.monotonic()
    nb.run("%%collet --wait\nexplore sales.csv")
    waiting = nb.cell_output(3)
    # The wait ends when the agent asks to run its cell (it would queue behind this cell).
    expect(waiting).to_contain_text("this wait ends so the kernel can run it", timeout=TURN_TIMEOUT)
    expect(nb.entry("m1")).to_have_attribute("data-status", "answered", timeout=TURN_TIMEOUT)
    took = time.monotonic() - started
    done = cells(nb)[-1]
    assert "north    67.5" in "".join(done["outputs"][0]["data"]["text/plain"])
    # How long each run took, as the model was told (no run waited for a timeout).
    printed = run_below(
        nb,
        "from collet_nb.ui.extension import active as _active\n"
        "_feed = _active().feed(_active().runner())\n"
        "print('runs:', [round(e['duration_s'], 2) for e in _feed.entries\n"
        "                if e['type'] == 'tool_result' and e['name'] == 'notebook_run'])",
    )
    expect(printed).to_contain_text("runs: [")
    runs = printed.inner_text()
    print(f"turn with a --wait cell holding the kernel: {took:.1f} s; {runs}")
    shot(nb.page, request.node.name, "gave-way")
    waiting.scroll_into_view_if_needed()
    painted(nb.page)
    shot(nb.page, request.node.name, "the-wait")
    assert took < 30


# ── Notebook 7 ──

# Notebook 7.6.5 throws this while it loads its settings, with or without collet-nb installed
# (its shortcuts plugin reads the schema of a plugin it does not have).
NOTEBOOK7_OWN_ERROR = ("Cannot read properties of undefined (reading 'schema')", "notebook_core")


def cell_card(view: Any, tool: str, n: int = 0) -> Any:
    return view.locator(f'.collet-tool[data-tool="{tool}"]').nth(n)


@pytest.mark.parametrize("foreign_page_errors", [(NOTEBOOK7_OWN_ERROR,)], ids=["nb7"])
def test_in_notebook_7_the_agent_inserts_and_runs_cells_through_the_page(page, lab, request):
    lab.write_notebook("n7.ipynb", SCRATCH, "")
    page.goto(f"{lab.url}/notebooks/n7.ipynb")
    nb = Notebook(page, lab)
    nb.wait_kernel_idle()
    assert page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"
    nb.run(DATA)
    output = run_below(nb, "%%collet\nexplore sales.csv")
    view = output.locator(".collet-view")
    for tool, n in (("notebook_insert", 0), ("notebook_run", 0), ("notebook_edit", 0),
                    ("notebook_run", 1)):  # fmt: skip
        allow(cell_card(view, tool, n))
        if (tool, n) == ("notebook_run", 0):
            shot(page, request.node.name, "run-allowed")
    expect(output).to_contain_text("m1 answered", timeout=TURN_TIMEOUT)  # its transcript
    done = cells(nb)[-1]
    assert done["mark"] == {"message_id": "m1"}
    assert FIXED in done["source"]
    assert "north    67.5" in "".join(done["outputs"][0]["data"]["text/plain"])
    marked = page.locator(".jp-Cell.collet-agent-cell")
    marked.scroll_into_view_if_needed()
    expect(marked.locator(".collet-cell-mark")).to_have_text("collet · m1")
    painted(page)
    shot(page, request.node.name, "ran")
