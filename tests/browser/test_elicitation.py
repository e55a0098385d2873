"""An MCP server's question answered from its form, in a real browser against a real kernel: the
form shows in the cell's view and the sidebar alike, its defaults filled in; Accept with the
required field empty says what to fix (nothing is sent); filled in, Accept sends the values
with the defaults, and both views say who answered and what was sent.

The model is the OpenAI-compatible loopback server in this process; the MCP server is the
in-repo one (``--people``), started by the kernel from the project's mcp.json.
"""

from __future__ import annotations

import json
import re
import sys

import pytest
from playwright.sync_api import expect

from tests.adapters.mcp.harness import SERVER
from tests.browser.conftest import shot
from tests.browser.notebook import Notebook
from tests.support.fake_llm import FakeLLM, FakeToolCall, Rule

pytestmark = [pytest.mark.browser, pytest.mark.kernel, pytest.mark.slow]

PENDING = '.collet-elicitation[data-state="pending"]'
CLOCK = r"\d\d:\d\d"


@pytest.fixture
def llm():
    rules = [
        Rule(contains="who am I", tool_calls=[FakeToolCall(name="mcp__t__ask", arguments={})]),
        Rule(role="tool", text="Nice to meet you."),
    ]
    with FakeLLM(rules) as server:
        yield server


@pytest.fixture
def lab_env(tmp_path, llm) -> dict[str, str]:
    """The project's config points the session at the loopback model (the lab's environment
    drops COLLET_BASE_URL and keys), and its mcp.json names the in-repo server."""
    folder = tmp_path / "project" / ".collet"
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text(
        f'base_url = "{llm.base_url}"\napi_key = "k"\nmodel = "fake-model"\n'
    )
    servers = {"t": {"command": sys.executable, "args": [SERVER, "stdio", "--people"]}}
    (folder / "mcp.json").write_text(json.dumps({"mcpServers": servers}))
    return {"COLLET_PROVIDER": "openai", "COLLET_APPROVAL": "yolo"}


@pytest.fixture
def nb(page, lab) -> Notebook:
    return Notebook(page, lab)


def test_a_servers_question_is_answered_from_the_form_in_the_cell_and_the_sidebar_agrees(
    nb, llm, request
):
    nb.open("a.ipynb")
    nb.open_sidebar()
    nb.run("%load_ext collet_nb")
    expect(nb.sidebar.locator(".jp-ColletSidebar-status")).to_contain_text(
        "provider openai", timeout=20_000
    )
    nb.run("%%collet\nwho am I, please")
    cell = nb.cell_view(1).locator('.collet-message[data-message-id="m1"]')
    side = nb.entry("m1")
    for view in (cell, side):
        form = view.locator(PENDING)
        expect(form).to_contain_text("Who is asking? Tell the test server about yourself.")
        expect(form).to_contain_text("from MCP server t")
        expect(view.locator(".collet-pill")).to_have_text("awaiting input")
        expect(form.locator('[data-field="age"] input')).to_have_value("30")
        expect(form.locator('[data-field="colour"] select')).to_have_value("green")
        expect(form.locator('[data-field="subscribe"] input')).not_to_be_checked()
        expect(form.locator('[data-field="name"] label')).to_have_text("Name *")
    expect(nb.sidebar.locator(".jp-ColletSidebar-attention")).to_contain_text(
        "m1: MCP server t asks for your answer"
    )
    expect(nb.sidebar.locator(".jp-ColletSidebar-status .jp-ColletSidebar-badge")).to_have_text(
        "awaiting input"
    )
    shot(nb.page, request.node.name, "form", ".jp-NotebookPanel:visible .jp-CodeCell >> nth=1")
    shot(nb.page, request.node.name, "form-sidebar", "#collet-nb-sidebar")

    # The required name left empty: the kernel says what to fix, and nothing is sent.
    form = cell.locator(PENDING)
    form.get_by_role("button", name="Accept").click()
    expect(form.locator(".collet-reply")).to_contain_text("name: required")
    assert [r for r in llm.chat_requests if r.last_role == "tool"] == []

    form.locator('[data-field="name"] input').fill("Ada")
    form.locator('[data-field="colour"] select').select_option("blue")
    shot(nb.page, request.node.name, "filled", ".jp-NotebookPanel:visible .jp-CodeCell >> nth=1")
    form.get_by_role("button", name="Accept").click()

    answered = re.compile(f"^answered by button at {CLOCK}$")
    expect(side.locator(".collet-elicitation .collet-decision")).to_have_text(answered)
    expect(side.locator(PENDING)).to_have_count(0)
    expect(side).to_have_attribute("data-status", "answered", timeout=30_000)
    expect(side.locator(".collet-elicitation .collet-kv")).to_contain_text("blue")
    expect(side.locator(".collet-answer")).to_contain_text("Nice to meet you.")
    shot(nb.page, request.node.name, "answered-sidebar", "#collet-nb-sidebar")
    # The cell keeps the transcript once the message ended; it says who answered what.
    output = nb.cell_output(1)
    expect(output).to_contain_text("m1 answered", timeout=30_000)
    expect(output).to_contain_text(re.compile(f"MCP server t asked.*answered by button at {CLOCK}"))
    shot(
        nb.page, request.node.name, "transcript", ".jp-NotebookPanel:visible .jp-CodeCell >> nth=1"
    )
    (tool,) = [r for r in llm.chat_requests if r.last_role == "tool"]
    assert tool.last_text == 'accepted {"name":"Ada","age":30,"colour":"blue","subscribe":false}'
