"""The agent's notebook tools under real-time collaboration (issue 20): with jupyter-collaboration
installed, the server holds the notebook as a shared document and writes the file itself. The
agent inserts, runs, fixes and reruns a cell and deletes another, through the page; the file
the server saves then holds exactly the cells the page shows, cell by cell: none duplicated,
none lost.

jupyter-collaboration turns collaboration on for every notebook a server opens, so it lives in
an environment of its own, ``.venv/rtc`` (scripts/setup.sh makes it: a venv layered on .venv by
a ``.pth`` file, with jupyter-collaboration from PyPI); only this test starts a JupyterLab there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.lab import ROOT, Lab
from tests.browser.notebook import Notebook
from tests.browser.test_notebook_run import (
    CELLS,
    DATA,
    FIXED,
    SCRATCH,
    TURN_TIMEOUT,
    allow,
    card,
    start,
)

pytestmark = [pytest.mark.browser, pytest.mark.kernel, pytest.mark.slow]

RTC = ROOT / ".venv" / "rtc"
NAME = "rtc.ipynb"

# Collaboration is on: the notebook's model is the server's shared document.
COLLABORATIVE = """() => window.jupyterapp.hasPlugin('@jupyter/docprovider-extension:ynotebook')
  && window.jupyterapp.shell.currentWidget.context.model.collaborative === true"""

# The file the server saved holds the cells the page shows (ids and sources, in order).
SAVED_AS_SHOWN = """async (name) => {
  const model = window.jupyterapp.shell.currentWidget.content.model;
  const shown = [];
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    shown.push([cell.id, cell.sharedModel.getSource()]);
  }
  const reply = await fetch(`/api/contents/${name}?content=1&type=file&format=text`);
  if (!reply.ok) return false;
  const saved = JSON.parse((await reply.json()).content).cells.map(
    c => [c.id, Array.isArray(c.source) ? c.source.join('') : c.source]);
  return JSON.stringify(saved) === JSON.stringify(shown);
}"""


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """A JupyterLab with jupyter-collaboration (from .venv/rtc), the rest as in .venv."""
    python = RTC / "bin" / "python"
    probe = [str(python), "-c", "import jupyter_collaboration, collet_nb"]
    if not python.exists() or subprocess.run(probe, check=False, capture_output=True).returncode:
        # Fail, never skip: this is the only test of the notebook tools under collaboration.
        pytest.fail(f"{RTC} with jupyter-collaboration is missing: run scripts/setup.sh")
    main = Path(sys.prefix)
    env = {
        "JUPYTER_PATH": str(main / "share" / "jupyter"),  # the labextensions, collet-nb's too
        "JUPYTERLAB_DIR": str(main / "share" / "jupyter" / "lab"),
        "JUPYTER_CONFIG_PATH": str(main / "etc" / "jupyter"),
    }
    server = Lab.start(tmp_path, env=env, python=str(python))
    try:
        yield server
    finally:
        server.stop()
    assert server.kernel_pids() == [], "a kernel outlived its JupyterLab"


def saved(lab: Lab) -> list[dict[str, Any]]:
    return list(json.loads((lab.project / NAME).read_text())["cells"])


def source(cell: dict[str, Any]) -> str:
    text = cell["source"]
    return "".join(text) if isinstance(text, list) else str(text)


def test_under_collaboration_the_saved_file_holds_every_cell_once(page, lab, request):
    nb = Notebook(page, lab)
    start(nb, NAME)
    assert page.evaluate(COLLABORATIVE), "jupyter-collaboration is not on in this JupyterLab"

    nb.type_in_sidebar("explore sales.csv")
    for tool, n in (("notebook_insert", 0), ("notebook_run", 0), ("notebook_edit", 0),
                    ("notebook_run", 1)):  # fmt: skip
        allow(card(nb, tool, n))
    expect(nb.entry("m1")).to_have_attribute("data-status", "answered", timeout=TURN_TIMEOUT)
    nb.type_in_sidebar("remove the scratch cell")
    allow(nb.entry("m2").locator('.collet-tool[data-tool="notebook_delete"]'))
    expect(nb.entry("m2")).to_have_attribute("data-status", "answered", timeout=TURN_TIMEOUT)

    shown = page.evaluate(CELLS)
    nb.save()
    page.wait_for_function(SAVED_AS_SHOWN, arg=NAME, timeout=TURN_TIMEOUT, polling=200)
    shot(page, request.node.name, "saved")

    # Cell by cell: the file is the page, ids unique, each cell there once.
    cells = saved(lab)
    assert [(c["id"], c["cell_type"], source(c)) for c in cells] == [
        (c["id"], c["type"], c["source"]) for c in shown
    ]
    ids = [c["id"] for c in cells]
    assert len(set(ids)) == len(ids)
    code = [source(c) for c in cells if c["cell_type"] == "code"]
    assert SCRATCH not in code  # the agent deleted it
    assert code.count(DATA) == 1
    agents = [c for c in cells if c["metadata"].get("collet_nb") == {"message_id": "m1"}]
    assert len(agents) == 1  # inserted once, edited in place (not a second cell)
    (cell,) = agents
    assert FIXED in source(cell)
    assert "north    67.5" in "".join(cell["outputs"][0]["data"]["text/plain"])
    transcripts = [c for c in cells if c["metadata"].get("collet", {}).get("transcript")]
    assert sorted(c["metadata"]["collet"]["transcript"] for c in transcripts) == ["m1", "m2"]
