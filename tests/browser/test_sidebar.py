"""The JupyterLab sidebar in a real browser against a real kernel with the offline demo model:
how it starts, streaming in both views, approvals and plans from the sidebar, the queue, Cancel.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.notebook import SIDEBAR, Notebook

pytestmark = [pytest.mark.browser, pytest.mark.kernel, pytest.mark.slow]

# The demo model's "count" answer (collet_nb/adapters/demo_scripts.toml).
COUNT_END = "That's ten, and the queue goes on."
CELL_WIDGET = ".jp-NotebookPanel:visible .jp-OutputArea .collet-view"
BADGE = ".jp-ColletSidebar-status .jp-ColletSidebar-badge"
CLOCK = r"\d\d:\d\d"
LOAD_TIMEOUT = 20_000  # ms


@pytest.fixture
def nb(page, lab) -> Notebook:
    return Notebook(page, lab)


def loaded(nb: Notebook, name: str = "a.ipynb") -> None:
    """Open notebook ``name``, the sidebar, and load the extension from a cell."""
    nb.open(name)
    nb.open_sidebar()
    nb.run("%load_ext collet_nb")
    # The first import of collet_nb in a kernel can take a few seconds on a busy machine.
    expect(nb.sidebar.locator(".jp-ColletSidebar-status")).to_contain_text(
        "provider demo", timeout=LOAD_TIMEOUT
    )


def test_the_sidebar_says_how_to_start_then_follows_the_active_notebook(nb, request):
    nb.open("a.ipynb")
    panel = nb.open_sidebar()
    hint = panel.locator(".jp-ColletSidebar-hint")
    expect(hint).to_contain_text("%load_ext collet_nb")
    expect(panel.get_by_role("button", name="Load collet_nb")).to_be_visible()
    expect(panel.locator(".jp-ColletSidebar-input")).to_be_hidden()
    shot(nb.page, request.node.name, "not-loaded", SIDEBAR)

    nb.run("%load_ext collet_nb")
    status = panel.locator(".jp-ColletSidebar-status")
    expect(status).to_contain_text("provider demo", timeout=LOAD_TIMEOUT)
    expect(status.locator(".jp-ColletSidebar-badge")).to_have_text("idle")
    expect(panel).to_have_attribute("data-link", "connected")

    nb.open("b.ipynb")  # a second notebook, its own kernel, nothing loaded there
    expect(panel.locator(".jp-ColletSidebar-where")).to_have_text("b.ipynb")
    expect(panel).to_have_attribute("data-link", "not-loaded")
    panel.get_by_role("button", name="Load collet_nb").click()
    expect(panel).to_have_attribute("data-link", "connected", timeout=LOAD_TIMEOUT)

    nb.activate("a.ipynb")
    expect(panel.locator(".jp-ColletSidebar-where")).to_have_text("a.ipynb")
    expect(panel).to_have_attribute("data-link", "connected")

    # A restarted kernel has lost the extension: the panel says so, and reconnects once a
    # cell loads it again.
    nb.page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()"
    )
    expect(panel).to_have_attribute("data-link", "not-loaded")
    nb.run("%load_ext collet_nb")
    expect(panel).to_have_attribute("data-link", "connected", timeout=LOAD_TIMEOUT)


def test_a_message_streams_in_the_cell_widget_and_the_sidebar_alike(nb, request):
    loaded(nb)
    nb.watch_lengths(SIDEBAR, '[data-message-id="m1"] .collet-answer', "sidebar")
    nb.watch_lengths("#jp-main-dock-panel", '[data-message-id="m1"] .collet-answer', "cell")
    nb.run("%%collet\ncount slowly to ten")

    expect(nb.entry("m1")).to_have_attribute("data-status", "answered", timeout=30_000)
    expect(nb.entry("m1").locator(".collet-answer")).to_contain_text(COUNT_END)
    # The ended message's output is its Markdown transcript: the answer and how it ended.
    cell = nb.cell_output(1)
    expect(cell).to_contain_text("m1 answered")
    expect(cell).to_contain_text(COUNT_END)
    expect(cell.locator(".collet-view")).to_have_count(0)
    for view in ("sidebar", "cell"):
        lengths = nb.lengths(view)
        assert len(lengths) >= 3, (view, lengths)  # it grew piece by piece: it streamed
        assert lengths[0] < lengths[-1], (view, lengths)

    # Sent from the sidebar: Shift+Enter adds a line, Enter sends.
    nb.watch_lengths(SIDEBAR, '[data-message-id="m2"] .collet-answer', "sidebar2")
    nb.type_in_sidebar("count slowly", "once more, please")
    expect(nb.entry("m2").locator(".collet-user")).to_have_text("count slowly\nonce more, please")
    expect(nb.entry("m2")).to_have_attribute("data-status", "answered", timeout=30_000)
    expect(nb.entry("m2")).to_contain_text(COUNT_END)
    assert len(nb.lengths("sidebar2")) >= 3
    expect(nb.sidebar.locator(".jp-ColletSidebar-input")).to_have_value("")
    shot(nb.page, request.node.name, "answered")

    # The kernel's own status (what the cell widgets read) says the same.
    nb.run("import collet_nb; print([m['state'] for m in collet_nb.status()['messages']])")
    expect(nb.cell_output(2)).to_contain_text("['answered', 'answered']")


def test_tool_calls_allowed_from_the_sidebar_write_the_file_and_the_cell_widget_agrees(
    nb, lab, request
):
    loaded(nb)
    nb.run("%%collet\nwrite a hello world script")
    panel = nb.sidebar
    waiting = panel.locator('.collet-tool[data-stage="awaiting"]')
    approval = waiting.locator(".collet-approval")
    expect(approval).to_contain_text("Allow file_write?")
    expect(waiting).to_contain_text("creates hello.py")
    cell = nb.page.locator(CELL_WIDGET).first
    expect(cell.get_by_role("button", name="Allow once")).to_be_visible()
    expect(panel.locator(BADGE)).to_have_text("awaiting approval")
    shot(nb.page, request.node.name, "pending-tool")
    shot(nb.page, request.node.name, "pending-tool-panel", SIDEBAR)

    approval.get_by_role("button", name="Allow once").click()
    # The sidebar's own card and the cell view's card both show the decision made in the
    # sidebar — who and when — and ask no more.
    side_write = nb.entry("m1").locator('.collet-tool[data-tool="file_write"]')
    write_card = cell.locator('.collet-tool[data-tool="file_write"]')
    for card in (side_write, write_card):
        expect(card.locator(".collet-decision")).to_have_text(
            re.compile(f"^allowed once by sidebar at {CLOCK}$")
        )
        expect(card.locator(".collet-decision")).to_have_attribute("data-decision", "allow_once")
        expect(card.get_by_role("button", name="Allow once")).to_have_count(0)
    expect(side_write).not_to_have_attribute("data-stage", "awaiting")

    expect(approval).to_contain_text("Allow bash?")
    approval.get_by_role("button", name="Allow for session").click()
    side_bash = nb.entry("m1").locator('.collet-tool[data-tool="bash"]')
    expect(side_bash.locator(".collet-decision")).to_have_text(
        re.compile(f"^allowed for the session by sidebar at {CLOCK}$")
    )
    expect(side_bash.get_by_role("button", name="Allow for session")).to_have_count(0)

    expect(nb.entry("m1")).to_have_attribute("data-status", "answered", timeout=30_000)
    # Ended: the cell keeps the transcript, with both decisions and who made them.
    expect(nb.cell_output(1)).to_contain_text("m1 answered")
    expect(nb.cell_output(1)).to_contain_text("allowed for the session by sidebar")
    tools = nb.entry("m1").locator(".collet-tool")
    expect(tools).to_have_count(2)
    expect(side_write).to_have_attribute("data-stage", "done")
    expect(side_bash).to_have_attribute("data-stage", "done")
    result = tools.nth(1).locator(".collet-result")
    result.locator("summary").click()  # a two-line result is folded: open it as a person does
    expect(result).to_contain_text("Hello, world!")
    expect(panel.locator(".collet-approval")).to_have_count(0)
    assert (lab.project / "hello.py").read_text() == 'print("Hello, world!")\n'

    # Again, from the sidebar: deny the write with a reason; bash, allowed for the session
    # above, no longer asks.
    (lab.project / "hello.py").write_text("# mine\n")
    nb.type_in_sidebar("write a hello world script")
    expect(approval).to_contain_text("Allow file_write?")
    expect(waiting).to_contain_text("overwrites hello.py")
    approval.locator(".collet-reason").fill("keep my version")
    approval.get_by_role("button", name="Deny").click()
    expect(nb.entry("m2")).to_have_attribute("data-status", "answered", timeout=30_000)
    tools = nb.entry("m2").locator(".collet-tool")
    expect(tools.first).to_have_attribute("data-stage", "denied")
    expect(tools.first.locator(".collet-decision")).to_have_text(
        re.compile(f"denied by sidebar at {CLOCK}: keep my version")
    )
    expect(tools.nth(1)).to_have_attribute("data-stage", "done")
    assert (lab.project / "hello.py").read_text() == "# mine\n"


def test_a_plan_approved_from_the_sidebar_runs_and_a_rejected_one_does_not(nb, request):
    loaded(nb)
    panel = nb.sidebar
    panel.locator(".jp-ColletSidebar-agent").select_option("architect")
    nb.type_in_sidebar("plan a tidy-up of this project")
    plan = panel.locator('.collet-plan[data-state="pending"]')
    expect(plan).to_be_visible(timeout=30_000)
    expect(panel.locator(BADGE)).to_have_text("awaiting plan")
    expect(nb.entry("m1")).to_have_attribute("data-status", "awaiting_plan")
    plan.locator(".collet-note-input").fill("keep it short")
    shot(nb.page, request.node.name, "pending-plan", SIDEBAR)
    plan.get_by_role("button", name="Approve").click()

    # Approving starts the code agent on the plan as a new message.
    expect(nb.entry("m2")).to_have_attribute("data-status", "answered", timeout=30_000)
    expect(nb.entry("m2")).to_contain_text("Carrying out the approved plan")
    expect(nb.entry("m1").locator(".collet-plan .collet-decision")).to_have_text(
        re.compile(f"plan approved by sidebar at {CLOCK} — note: keep it short; carried out as m2")
    )
    expect(plan).to_have_count(0)

    nb.type_in_sidebar("plan something else")
    expect(plan).to_be_visible(timeout=30_000)
    plan.locator(".collet-note-input").fill("not now")
    plan.get_by_role("button", name="Reject").click()
    expect(nb.entry("m3").locator(".collet-plan .collet-decision")).to_have_text(
        re.compile(f"plan rejected by sidebar at {CLOCK} — reason: not now")
    )
    expect(plan).to_have_count(0)
    expect(panel.locator(BADGE)).to_have_text("idle")
    expect(nb.entry("m4")).to_have_count(0)  # nothing ran after the rejection


@pytest.mark.parametrize("lab_env", [{"COLLET_DEMO_PACE": "0.5"}], ids=["slow-model"])
def test_cancel_from_the_sidebar_stops_the_turn_and_a_queued_message_can_be_removed(nb, request):
    loaded(nb)
    panel = nb.sidebar
    nb.type_in_sidebar("count slowly to ten")
    answer = nb.entry("m1").locator(".collet-answer")
    expect(answer).to_contain_text("Counting")
    nb.type_in_sidebar("count to three")
    nb.type_in_sidebar("count to four")
    queue = panel.locator(".jp-ColletSidebar-queued")
    expect(queue).to_have_count(2)
    shot(nb.page, request.node.name, "queue", SIDEBAR)

    panel.get_by_role("button", name="Remove m2").click()
    expect(queue).to_have_count(1)
    expect(queue.first).to_have_attribute("data-message-id", "m3")
    expect(nb.entry("m2")).to_have_attribute("data-status", "cancelled")

    panel.locator(".jp-ColletSidebar-status").get_by_role("button", name="Cancel").click()
    expect(nb.entry("m1")).to_have_attribute("data-status", "cancelled")
    expect(nb.entry("m3")).to_have_attribute("data-status", "cancelled")
    expect(queue).to_have_count(0)
    expect(panel.locator(BADGE)).to_have_text("idle")
    assert COUNT_END not in answer.inner_text()  # stopped part-way
