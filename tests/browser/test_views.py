"""One live view shared by the cells and the sidebar, and the notebook keeps the agent's work:
what a person sees in a real browser against a real kernel with the offline demo model.

Each cell's ``%%collet`` output is one display: the live view (an anywidget drawn by the same
renderer as the sidebar) while the message can still change, then its Markdown transcript.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.notebook import SIDEBAR, Notebook

pytestmark = [pytest.mark.browser, pytest.mark.kernel, pytest.mark.slow]

HELLO = "%%collet\nwrite a hello world script"  # demo: file_write, then bash; each asks
BADGE = ".jp-ColletSidebar-status .jp-ColletSidebar-badge"
AWAITING = '.collet-tool[data-stage="awaiting"]'
CELL = ".jp-NotebookPanel:visible .jp-CodeCell >> nth={}"  # code cell N, for a screenshot
CLOCK = r"\d\d:\d\d"
COUNT_END = "That's ten, and the queue goes on."  # the demo's "count" answer ends so
LOAD_TIMEOUT = 20_000  # ms: the first import of collet_nb on a busy machine
END_TIMEOUT = 30_000  # ms


@pytest.fixture
def nb(page, lab) -> Notebook:
    return Notebook(page, lab)


def loaded(nb: Notebook, name: str = "a.ipynb", *, sidebar: bool = True) -> None:
    """Open notebook ``name`` (and the sidebar), and load the extension from a cell."""
    nb.open(name)
    if sidebar:
        nb.open_sidebar()
    nb.run("%load_ext collet_nb")
    if sidebar:
        expect(nb.sidebar.locator(".jp-ColletSidebar-status")).to_contain_text(
            "provider demo", timeout=LOAD_TIMEOUT
        )


def card(view, tool: str):
    """The card of the (last) ``tool`` call in a view."""
    return view.locator(f'.collet-tool[data-tool="{tool}"]').last


# The background a node shows: its own, or the first opaque one behind it.
BACKGROUND = """(node) => {
  for (let n = node; n; n = n.parentElement) {
    const c = getComputedStyle(n).backgroundColor;
    if (c !== 'transparent' && !/^rgba\\(.*, 0\\)$/.test(c)) { return c; }
  }
  return 'rgb(255, 255, 255)';
}"""


def luminance(css_color: str) -> float:
    """Relative luminance (0 black … 1 white) of a computed ``rgb(…)``/``rgba(…)`` color."""
    r, g, b = (int(v) / 255 for v in re.findall(r"[\d.]+", css_color)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


# ── (a) the same words in the cell and the sidebar; a decision in either resolves both ──


@pytest.mark.parametrize("lab_env", [{"COLLET_DEMO_PACE": "0.15"}], ids=["paced"])
def test_a_message_says_the_same_in_its_cell_and_the_sidebar_and_either_decides_for_both(
    nb, lab, request
):
    loaded(nb)
    nb.watch_words("#jp-main-dock-panel", "m1", "cell")
    nb.watch_words(SIDEBAR, "m1", "sidebar")
    nb.run(HELLO)
    cell = nb.cell_view(1).locator('.collet-message[data-message-id="m1"]')
    side = nb.entry("m1")

    for view in (cell, side):
        expect(view.locator(".collet-pill")).to_have_text("awaiting approval")
        expect(view.locator(".collet-answer").first).to_contain_text("I'll write a small script")
        expect(view.locator(f"{AWAITING} .collet-approval")).to_contain_text("Allow file_write?")
        expect(view.locator(AWAITING)).to_contain_text("creates hello.py")
    expect(nb.sidebar.locator(BADGE)).to_have_text("awaiting approval")
    shot(nb.page, request.node.name, "awaiting")

    # Allow in the cell: the sidebar's card shows the decision, by the cell's button.
    card(cell, "file_write").get_by_role("button", name="Allow once").click()
    expect(card(side, "file_write").locator(".collet-decision")).to_have_text(
        re.compile(f"^allowed once by button at {CLOCK}$")
    )
    expect(card(side, "file_write").locator(".collet-approval")).to_have_count(0)
    expect(card(cell, "file_write").locator(".collet-decision")).to_have_text(
        re.compile(f"^allowed once by button at {CLOCK}$")
    )

    # The bash call asks in both; Allow in the sidebar resolves the cell's card.
    for view in (cell, side):
        expect(view.locator(f"{AWAITING} .collet-approval")).to_contain_text("Allow bash?")
        expect(view.locator(".collet-pill")).to_have_text("awaiting approval")
    card(side, "bash").get_by_role("button", name="Allow once").click()
    expect(card(cell, "bash").locator(".collet-decision")).to_have_text(
        re.compile(f"^allowed once by sidebar at {CLOCK}$")
    )
    expect(card(cell, "bash").get_by_role("button", name="Allow once")).to_have_count(0)

    expect(side).to_have_attribute("data-status", "answered", timeout=END_TIMEOUT)
    expect(side.locator(".collet-pill")).to_have_text("answered")
    # The cell's output ends as the transcript, which says the same, decisions included.
    output = nb.cell_output(1)
    expect(output).to_contain_text("m1 answered")
    expect(output).to_contain_text(re.compile(f"file_write allowed once by button at {CLOCK}"))
    expect(output).to_contain_text(re.compile(f"bash allowed once by sidebar at {CLOCK}"))
    shot(nb.page, request.node.name, "answered")

    # Step by step, both views showed the same words (the pill and the sidebar's entry); the
    # cell's view may come up after the first step (it loads the renderer first).
    cell_words, side_words = nb.words("cell"), nb.words("sidebar")
    assert side_words[-1] == "answered", side_words
    assert cell_words.count("awaiting approval") == 2, cell_words
    assert cell_words == side_words[len(side_words) - len(cell_words) :], (cell_words, side_words)
    assert (lab.project / "hello.py").read_text() == 'print("Hello, world!")\n'

    # An architect's message waits for its plan, in both views; Approve in the cell.
    nb.watch_words("#jp-main-dock-panel", "m2", "cell2")
    nb.watch_words(SIDEBAR, "m2", "sidebar2")
    nb.run("%%collet --agent architect\nplan a tidy-up of this project")
    cell = nb.cell_view(2).locator('.collet-message[data-message-id="m2"]')
    side = nb.entry("m2")
    for view in (cell, side):
        expect(view.locator(".collet-pill")).to_have_text("awaiting plan", timeout=END_TIMEOUT)
        expect(view.locator('.collet-plan[data-state="pending"]')).to_contain_text("Plan")
    expect(nb.sidebar.locator(BADGE)).to_have_text("awaiting plan")
    shot(nb.page, request.node.name, "awaiting-plan")
    cell.locator(".collet-note-input").fill("keep it short")
    cell.get_by_role("button", name="Approve").click()
    expect(side.locator(".collet-plan .collet-decision")).to_have_text(
        re.compile(f"^plan approved by button at {CLOCK} — note: keep it short; carried out as m3$")
    )
    expect(nb.entry("m3")).to_have_attribute("data-status", "answered", timeout=END_TIMEOUT)
    output = nb.cell_output(2)
    expect(output).to_contain_text("m3 answered")  # the follow-up's end, in the cell that asked
    expect(output).to_contain_text(
        re.compile(f"plan approved by button at {CLOCK} — note: keep it short; carried out as m3")
    )
    assert nb.words("cell2") == nb.words("sidebar2") == ["running", "awaiting plan", "answered"]


# ── (b) an edit shows its diff before anyone decides ──


def test_an_edit_shows_its_diff_while_it_waits_and_the_file_changes_only_after_allow(
    nb, lab, request
):
    notes = lab.project / "notes.txt"
    notes.write_text("# Notes\n- buy milk\n")  # as lesson 04 writes it
    loaded(nb, sidebar=False)
    nb.run("%%collet\nadd a todo to notes.txt")
    view = nb.cell_view(1)
    edit = view.locator(f'{AWAITING}[data-tool="file_edit"]')
    expect(edit.locator(".collet-approval")).to_contain_text("Allow file_edit?")
    expect(edit.locator(".collet-tool-summary")).to_have_text("edits notes.txt (+1 −0)")
    diff = edit.locator(".collet-diff")
    expect(diff.locator(".collet-diff-add")).to_have_text(["+- water the plants\n"])
    expect(diff.locator(".collet-diff-ctx")).to_contain_text([" # Notes\n", " - buy milk\n"])
    expect(diff.locator(".collet-diff-del")).to_have_count(0)
    expect(diff.locator(".collet-diff-hunk")).to_have_count(1)
    shot(nb.page, request.node.name, "edit-awaiting", CELL.format(1))
    assert notes.read_text() == "# Notes\n- buy milk\n"  # nothing changed before the click

    edit.get_by_role("button", name="Allow once").click()
    expect(nb.cell_output(1)).to_contain_text("m1 answered", timeout=END_TIMEOUT)
    assert notes.read_text() == "# Notes\n- buy milk\n- water the plants\n"

    # Overwriting a file shows what goes and what comes: - and + lines, before the click.
    (lab.project / "hello.py").write_text("# mine\n")
    nb.run(HELLO)
    write = nb.cell_view(2).locator(f'{AWAITING}[data-tool="file_write"]')
    expect(write.locator(".collet-tool-summary")).to_have_text("overwrites hello.py (+1 −1)")
    expect(write.locator(".collet-diff-del")).to_have_text(["-# mine\n"])
    expect(write.locator(".collet-diff-add")).to_have_text(['+print("Hello, world!")\n'])
    shot(nb.page, request.node.name, "overwrite-awaiting", CELL.format(2))
    write.locator(".collet-reason").fill("keep mine")
    write.get_by_role("button", name="Deny").click()
    denied = card(nb.cell_view(2), "file_write")
    expect(denied).to_have_attribute("data-stage", "denied")
    expect(denied.locator(".collet-decision")).to_have_text(
        re.compile(f"^denied by button at {CLOCK}: keep mine$")
    )
    assert (lab.project / "hello.py").read_text() == "# mine\n"


# ── (c) a page reload while a call waits: the whole story comes back ──


def test_after_a_reload_a_waiting_message_shows_its_whole_story_in_its_cell_and_the_sidebar(
    nb, lab, request
):
    loaded(nb)
    nb.type_in_sidebar("count to three")  # m1, from the sidebar
    expect(nb.entry("m1")).to_have_attribute("data-status", "answered", timeout=END_TIMEOUT)
    nb.run(HELLO)  # m2
    view = nb.cell_view(1)
    card(view, "file_write").get_by_role("button", name="Allow once").click()
    expect(view.locator(f"{AWAITING} .collet-approval")).to_contain_text("Allow bash?")
    nb.save()

    nb.reload()
    nb.open_sidebar()
    # The cell: the message as it stands, from the start, and still waiting.
    m2 = nb.cell_view(1).locator('.collet-message[data-message-id="m2"]')
    expect(m2.locator(".collet-pill")).to_have_text("awaiting approval", timeout=END_TIMEOUT)
    expect(m2.locator(".collet-user")).to_have_text("write a hello world script")
    expect(m2.locator(".collet-answer").first).to_contain_text("I'll write a small script")
    expect(m2.locator(".collet-answer").nth(1)).to_contain_text("Let me check that it runs.")
    expect(card(m2, "file_write")).to_have_attribute("data-stage", "done")
    expect(card(m2, "file_write").locator(".collet-decision")).to_have_text(
        re.compile(f"^allowed once by button at {CLOCK}$")
    )
    expect(card(m2, "file_write").locator(".collet-result")).to_contain_text("wrote 23 bytes")
    expect(card(m2, "bash")).to_have_attribute("data-stage", "awaiting")
    # The sidebar: the whole conversation, answers and tool cards, not only what was asked.
    expect(nb.entry("m1").locator(".collet-answer")).to_contain_text("That's ten")
    expect(nb.entry("m2").locator(".collet-tool")).to_have_count(2)
    expect(card(nb.entry("m2"), "file_write").locator(".collet-decision")).to_contain_text(
        "allowed once by button"
    )
    expect(nb.entry("m2").locator(f"{AWAITING} .collet-approval")).to_contain_text("Allow bash?")
    expect(nb.sidebar.locator(BADGE)).to_have_text("awaiting approval")
    shot(nb.page, request.node.name, "reloaded")

    # The re-rendered view is live: its button decides (recorded as the cell's button).
    card(m2, "bash").get_by_role("button", name="Allow once").click()
    expect(nb.entry("m2")).to_have_attribute("data-status", "answered", timeout=END_TIMEOUT)
    expect(card(nb.entry("m2"), "bash").locator(".collet-decision")).to_have_text(
        re.compile(f"^allowed once by button at {CLOCK}$")
    )
    expect(card(nb.entry("m2"), "bash")).to_have_attribute("data-stage", "done")


def test_a_message_that_ends_after_a_reload_leaves_its_transcript_in_the_cell(nb, lab):
    loaded(nb, sidebar=False)
    nb.run(HELLO)
    view = nb.cell_view(1)
    card(view, "file_write").get_by_role("button", name="Allow once").click()
    expect(view.locator(f"{AWAITING} .collet-approval")).to_contain_text("Allow bash?")
    nb.save()
    nb.reload()
    view = nb.cell_view(1)
    card(view, "bash").get_by_role("button", name="Allow once").click()
    expect(nb.cell_output(1)).to_contain_text("m1 answered", timeout=10_000)  # ends in ≈2 s
    nb.save()
    (out,) = json.loads((lab.project / "a.ipynb").read_text())["cells"][1]["outputs"]
    assert sorted(out["data"]) == ["text/markdown", "text/plain"]


# ── (d) saved, the kernel gone, the page reloaded: the transcript shows what happened ──


def test_a_saved_notebook_reopened_without_its_kernel_shows_the_transcript_and_no_widget_error(
    nb, lab, request
):
    loaded(nb, sidebar=False)
    nb.run(HELLO)
    view = nb.cell_view(1)
    card(view, "file_write").get_by_role("button", name="Allow once").click()
    card(view, "bash").get_by_role("button", name="Allow once").click()
    output = nb.cell_output(1)
    expect(output).to_contain_text("m1 answered", timeout=END_TIMEOUT)
    nb.save()

    # Kernel → Shut Down Kernel, as a person does.
    nb.page.get_by_role("menuitem", name="Kernel").click()
    nb.page.get_by_role("menuitem", name=re.compile("^Shut Down Kernel")).click()
    nb.page.wait_for_function(
        "async () => (await (await fetch('/api/kernels')).json()).length === 0"
    )
    nb.reload()  # the notebook reopens with a new kernel: no widget model is there

    output = nb.cell_output(1)
    expect(output).to_contain_text("m1 answered")
    expect(output).to_contain_text("write a hello world script")
    expect(output).to_contain_text(re.compile(f"file_write allowed once by button at {CLOCK}"))
    expect(output).to_contain_text(re.compile(f"bash allowed once by button at {CLOCK}"))
    expect(output).to_contain_text("Hello, world!")
    expect(output.locator(".collet-view")).to_have_count(0)
    expect(nb.page.get_by_text("Error displaying widget")).to_have_count(0)
    expect(nb.page.get_by_text("model not found")).to_have_count(0)
    shot(nb.page, request.node.name, "reopened")
    shot(nb.page, request.node.name, "reopened-cell", CELL.format(1))

    # The file itself keeps it as Markdown, for nbconvert, GitHub and VS Code alike.
    saved = json.loads((lab.project / "a.ipynb").read_text())
    (out,) = saved["cells"][1]["outputs"]
    assert sorted(out["data"]) == ["text/markdown", "text/plain"], sorted(out["data"])
    markdown = "".join(out["data"]["text/markdown"])
    assert "*m1 answered*" in markdown
    assert re.search(f"bash\\*\\* allowed once by button at {CLOCK}", markdown), markdown


# ── (e) the dark theme ──


def test_the_views_follow_the_dark_theme(nb, request):
    loaded(nb)
    nb.run(HELLO)
    answer = nb.cell_view(1).locator(".collet-answer").first
    expect(answer).to_contain_text("I'll write a small script")
    side_answer = nb.entry("m1").locator(".collet-answer").first
    expect(nb.cell_view(1).locator(f"{AWAITING} .collet-approval")).to_be_visible()
    color = "(node) => getComputedStyle(node).color"
    pending = nb.cell_view(1).locator(f"{AWAITING} .collet-approval")
    light = answer.evaluate(color)
    assert luminance(light) < 0.3, light  # dark text on a light page
    assert luminance(pending.evaluate(BACKGROUND)) > 0.7  # on a light card

    nb.page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme', "
        "{theme: 'JupyterLab Dark'})"
    )
    nb.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    nb.page.wait_for_function(
        "([node, before]) => getComputedStyle(node).color !== before",
        arg=[answer.element_handle(), light],
    )
    dark = answer.evaluate(color)
    assert luminance(dark) > 0.6, dark  # light text on a dark page
    assert luminance(side_answer.evaluate(color)) > 0.6
    assert luminance(pending.evaluate(BACKGROUND)) < 0.3  # the card is dark too
    expect(pending.get_by_role("button", name="Allow once")).to_be_visible()
    shot(nb.page, request.node.name, "dark")
    shot(nb.page, request.node.name, "dark-cell", CELL.format(1))


# ── (f) Cancel and Retry only where they act ──


def test_cancel_shows_only_while_a_message_runs_and_retry_only_until_it_is_retried(nb, request):
    loaded(nb)
    nb.run("%%collet\ncount slowly to twenty")  # the demo's slowest answer
    m1 = nb.cell_view(1).locator('.collet-message[data-message-id="m1"]')
    expect(m1.locator(".collet-answer")).to_contain_text("Counting slowly")
    expect(m1.locator(".collet-pill")).to_have_text("running")
    expect(m1.get_by_role("button", name="Cancel")).to_be_enabled()
    expect(nb.entry("m1").get_by_role("button", name="Cancel")).to_be_enabled()
    shot(nb.page, request.node.name, "running")

    nb.run("%collet /cancel")
    expect(nb.cell_output(1)).to_contain_text("m1 cancelled")
    expect(nb.cell_output(1).get_by_role("button")).to_have_count(0)
    expect(nb.entry("m1")).to_have_attribute("data-status", "cancelled")
    expect(nb.entry("m1").get_by_role("button", name="Cancel")).to_have_count(0)
    header_cancel = nb.sidebar.locator(".jp-ColletSidebar-status").get_by_role(
        "button", name="Cancel"
    )
    expect(header_cancel).to_be_disabled()

    # A failure (the demo fails this prompt once): Retry in the sidebar, no Cancel.
    nb.run("%%collet\nsimulate a failure")
    m2 = nb.entry("m2")
    expect(m2).to_have_attribute("data-status", "failed", timeout=END_TIMEOUT)
    expect(m2.get_by_role("button", name="Retry")).to_be_enabled()
    expect(m2.get_by_role("button", name="Cancel")).to_have_count(0)
    expect(nb.cell_output(3)).to_contain_text("m2 failed")
    shot(nb.page, request.node.name, "failed")
    m2.get_by_role("button", name="Retry").click()
    expect(nb.entry("m3")).to_have_attribute("data-status", "answered", timeout=END_TIMEOUT)
    expect(nb.entry("m3")).to_contain_text("This time it worked")
    expect(m2.locator(".collet-ending")).to_have_text(re.compile("retried as m3$"))
    expect(m2.get_by_role("button", name="Retry")).to_have_count(0)
    # Answered: nothing to cancel anywhere.
    expect(nb.entry("m3").get_by_role("button", name="Cancel")).to_have_count(0)
    expect(header_cancel).to_be_disabled()
    shot(nb.page, request.node.name, "retried", SIDEBAR)


def test_no_cancel_is_offered_while_only_a_plan_waits(nb):
    loaded(nb)
    nb.sidebar.locator(".jp-ColletSidebar-agent").select_option("architect")
    nb.type_in_sidebar("plan a tidy-up of this project")
    expect(nb.entry("m1")).to_have_attribute("data-status", "awaiting_plan", timeout=END_TIMEOUT)
    expect(nb.entry("m1").get_by_role("button", name="Cancel")).to_have_count(0)
    header_cancel = nb.sidebar.locator(".jp-ColletSidebar-status").get_by_role(
        "button", name="Cancel"
    )
    expect(header_cancel).to_be_disabled()


# ── (g) Notebook 7: the cell view without JupyterLab's shell ──


# Notebook 7.6.5 throws this while it loads its settings, with or without collet-nb installed
# (its shortcuts plugin reads the schema of a plugin it does not have).
NOTEBOOK7_OWN_ERROR = ("Cannot read properties of undefined (reading 'schema')", "notebook_core")


@pytest.mark.parametrize("foreign_page_errors", [(NOTEBOOK7_OWN_ERROR,)], ids=["nb7"])
def test_in_notebook_7_the_cell_view_streams_and_its_allow_button_works(page, lab, request):
    lab.write_notebook("n7.ipynb")
    page.goto(f"{lab.url}/notebooks/n7.ipynb")
    nb = Notebook(page, lab)
    # Notebook 7 exposes window.jupyterapp too (JupyterNotebookApp.expose_app_in_browser),
    # and its current widget is the notebook: the same wait as in JupyterLab.
    nb.wait_kernel_idle()
    assert page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"
    nb.watch_lengths("#main-panel", '[data-message-id="m1"] .collet-answer', "n7")
    nb.watch_words("#main-panel", "m1", "n7")
    nb.run("%load_ext collet_nb")
    nb.run("%%collet\ncount slowly to ten")
    expect(nb.cell_output(1)).to_contain_text("m1 answered", timeout=END_TIMEOUT)
    expect(nb.cell_output(1)).to_contain_text(COUNT_END)
    lengths = nb.lengths("n7")
    assert len(lengths) >= 3, lengths  # the view's answer grew piece by piece: it streamed
    assert nb.words("n7")[-2:] == ["running", "answered"], nb.words("n7")

    nb.run(HELLO)
    view = nb.cell_view(2)
    expect(view.locator(".collet-pill")).to_have_text("awaiting approval", timeout=END_TIMEOUT)
    expect(view.locator(".collet-answer").first).to_contain_text(
        "I'll write a small script, hello.py, that prints a greeting."
    )
    shot(page, request.node.name, "awaiting")
    card(view, "file_write").get_by_role("button", name="Allow once").click()
    expect(card(view, "file_write").locator(".collet-decision")).to_contain_text(
        "allowed once by button"
    )
    card(view, "bash").get_by_role("button", name="Allow once").click()
    expect(nb.cell_output(2)).to_contain_text("m2 answered", timeout=END_TIMEOUT)
    nb.run("print(open('hello.py').read())")  # the file the allowed call wrote
    expect(nb.cell_output(3)).to_contain_text('print("Hello, world!")')
    shot(page, request.node.name, "answered")
