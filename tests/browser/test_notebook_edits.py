"""The agent's notebook tools through the front end, in a real JupyterLab (issue 20): the demo
model reads the notebook (unsaved text included) and edits a cell; the person allows it from
the sidebar, sees the diff first, the cell changes in the page, marked with the message, and
Ctrl+Z in the cell restores it. A cell the person changed while the edit waited is not
overwritten: the edit is refused, and the model reads why.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.notebook import SIDEBAR, Notebook

pytestmark = [pytest.mark.browser, pytest.mark.kernel, pytest.mark.slow]

MESSY = "x=1;y=2\nprint( x+y )"
TIDY = "x = 1\ny = 2\nprint(x + y)"  # the demo model's edit ("tidy the notebook")
LOAD_TIMEOUT = 20_000  # ms

# The first cell of the visible notebook's model, as the front end holds it (unsaved included).
FIRST_CELL = """() => {
  const cell = window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells[0];
  return {source: cell.getSource(), mark: cell.getMetadata('collet_nb') ?? null};
}"""


@pytest.fixture
def nb(page, lab) -> Notebook:
    return Notebook(page, lab)


def first_cell(nb: Notebook) -> dict:
    return dict(nb.page.evaluate(FIRST_CELL))


def editor(nb: Notebook, index: int):
    return nb.page.locator(".jp-NotebookPanel:visible .jp-Cell").nth(index).locator(".cm-content")


def ask_to_tidy(nb: Notebook):
    """Open a notebook whose first cell is messy, load collet_nb, send "tidy the notebook"
    from the sidebar; return the sidebar's card of the edit once it waits for a decision."""
    nb.open("tidy.ipynb", MESSY, "")
    nb.open_sidebar()
    nb.run("%load_ext collet_nb")
    expect(nb.sidebar.locator(".jp-ColletSidebar-status")).to_contain_text(
        "provider demo", timeout=LOAD_TIMEOUT
    )
    nb.type_in_sidebar("tidy the notebook")
    card = nb.entry("m1").locator('.collet-tool[data-tool="notebook_edit"]')
    expect(card).to_have_attribute("data-stage", "awaiting", timeout=30_000)
    return card


def test_the_agent_edits_a_cell_through_the_page_and_ctrl_z_restores_it(nb, request):
    card = ask_to_tidy(nb)
    # notebook_read ran at once (read-only in `auto`) and saw the cell as the page shows it.
    read = nb.entry("m1").locator('.collet-tool[data-tool="notebook_read"]')
    expect(read).to_have_attribute("data-stage", "done")
    read.get_by_text("result ·").click()  # unfold the result
    expect(read).to_contain_text("── cell 0 · id c0 · code ──")
    expect(read).to_contain_text("print( x+y )")
    # The approval shows the diff of the cell against what the agent read.
    expect(card).to_contain_text("tidy.ipynb cell 0 (id c0)")
    expect(card.locator(".collet-diff, pre").first).to_contain_text("+x = 1")
    expect(card).to_contain_text("-x=1;y=2")
    assert first_cell(nb)["source"] == MESSY  # nothing changed before the person decides
    shot(nb.page, request.node.name, "edit-awaits", SIDEBAR)

    card.get_by_role("button", name="Allow once").click()
    expect(card).to_have_attribute("data-stage", "done")
    expect(editor(nb, 0)).to_have_text("x = 1y = 2print(x + y)")  # one line per .cm-line
    assert first_cell(nb) == {"source": TIDY, "mark": {"message_id": "m1"}}
    expect(nb.entry("m1")).to_have_attribute("data-status", "answered", timeout=30_000)
    shot(nb.page, request.node.name, "edited")

    # The person undoes the agent's edit with Ctrl+Z in the cell: source and mark come back.
    editor(nb, 0).click()
    nb.page.keyboard.press("Control+z")
    nb.page.wait_for_function(
        "(messy) => window.jupyterapp.shell.currentWidget.content.model.sharedModel"
        ".cells[0].getSource() === messy",
        arg=MESSY,
    )
    assert first_cell(nb) == {"source": MESSY, "mark": None}
    shot(nb.page, request.node.name, "undone")


def test_an_edit_to_a_cell_the_person_changed_meanwhile_is_refused(nb, request):
    card = ask_to_tidy(nb)
    # While the edit waits for approval, the person changes that very cell.
    editor(nb, 0).click()
    nb.page.keyboard.press("Control+End")
    nb.page.keyboard.insert_text("  # mine")
    mine = MESSY + "  # mine"
    nb.page.wait_for_function(
        "(mine) => window.jupyterapp.shell.currentWidget.content.model.sharedModel"
        ".cells[0].getSource() === mine",
        arg=mine,
    )
    card.get_by_role("button", name="Allow once").click()

    # The agent's edit is refused; the person's text stays; the model reads why.
    expect(card).to_have_attribute("data-stage", "failed")
    card.get_by_text("error ·").click()  # unfold the result
    expect(card).to_contain_text("the user changed cell 0 (id c0) since you read it")
    expect(nb.entry("m1")).to_have_attribute("data-status", "answered", timeout=30_000)
    assert first_cell(nb) == {"source": mine, "mark": None}
    shot(nb.page, request.node.name, "refused", SIDEBAR)
    # What the model was sent back: the refusal, in the conversation's tool message.
    nb.run(
        "from collet_nb.ui.extension import active\n"
        "print([m.content for m in active().runner().session.context.messages "
        "if m.role == 'tool' and 'changed cell 0' in m.content][:1])"
    )
    expect(nb.cell_output(2)).to_contain_text("the user changed cell 0 (id c0) since you read it")
