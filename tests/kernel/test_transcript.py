"""A notebook run headless keeps the agent's work: its saved outputs, with the widget state
removed, show what happened — answers, tool calls, decisions, plans — and so do nbconvert's
Markdown and HTML; no API key is in any of them."""

import json

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter, MarkdownExporter
from nbformat.v4 import new_code_cell, new_notebook

from tests.support.fake_llm import FakeLLM, FakeToolCall, Rule
from tests.support.kernel import IPYKERNELS, ROOT, ipykernel_path

pytestmark = pytest.mark.kernel

KEY = "sk-test-transcript-3f9a1c"
RULES = [
    Rule(role="tool", contains="wrote", text="The notes are written."),
    Rule(
        contains="make notes",
        text="I'll write them to a file.",
        tool_calls=[
            FakeToolCall(name="file_write", arguments={"path": "notes.md", "content": "- a\n"})
        ],
    ),
    Rule(contains="plan the docs", text="## Plan: docs\n\n1. Write `docs/index.md`."),
    Rule(contains="The plan above is approved", text="Carried out: nothing else to do."),
]
CELLS = [
    "%load_ext collet_nb",
    "%%collet\nmake notes",
    "%collet /wait 30",
    "%collet /allow",
    "%collet /wait 30",
    "%%collet --agent architect\nplan the docs",
    "%collet /wait 30",
    "%collet /approve keep it short",
    "%collet /wait 30",
    "print('done')",
]


def outputs_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        parts.append(data.get("text/markdown", "") + out.get("text", ""))
    return "\n".join(parts)


@pytest.mark.parametrize("ipykernel", IPYKERNELS)
def test_a_headless_run_saves_what_the_agent_did_and_nbconvert_shows_it(
    tmp_path, ipykernel, monkeypatch
):
    nb = new_notebook(cells=[new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    with FakeLLM(RULES) as llm:
        env = {
            "COLLET_PROVIDER": "openai",
            "COLLET_BASE_URL": llm.base_url,
            "COLLET_API_KEY": KEY,
            "COLLET_MODEL": "m",
            "COLLET_HOME": str(tmp_path / "home"),
            "COLLET_DEMO_PACE": "0",
            "PYTHONPATH": ":".join([*ipykernel_path(ipykernel), str(ROOT)]),
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)  # the kernel nbclient starts inherits them
        NotebookClient(nb, timeout=60, resources={"metadata": {"path": str(tmp_path)}}).execute()
    nb.metadata.pop("widgets", None)  # as a reader without widget state gets it
    path = tmp_path / "run.ipynb"
    nbformat.write(nb, path)
    saved = nbformat.read(path, as_version=4)

    notes = outputs_text(saved.cells[1])
    assert "I'll write them to a file." in notes
    assert "**file_write** `notes.md` — creates" in notes
    assert "allowed once by command" in notes
    assert "The notes are written." in notes
    assert "*m1 answered*" in notes
    plan = outputs_text(saved.cells[5])
    assert "## Plan: docs" in plan
    assert "**plan approved** by command" in plan
    assert "keep it short" in plan
    assert "Carried out: nothing else to do." in plan  # the follow-up, in the plan's cell
    for cell in saved.cells:
        for out in cell.get("outputs", []):
            assert "application/vnd.jupyter.widget-view+json" not in out.get("data", {})

    text = path.read_text()
    assert KEY not in text
    markdown, _ = MarkdownExporter().from_notebook_node(saved)
    html, _ = HTMLExporter().from_notebook_node(saved)
    for shown in (markdown, html):
        assert "file_write" in shown
        assert "notes.md" in shown
        assert "allowed once by command" in shown
        assert "Plan: docs" in shown
        assert KEY not in shown
    assert json.loads(text)["cells"][1]["outputs"]  # the output is there, not only a reference
