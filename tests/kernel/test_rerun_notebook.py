"""A notebook executed twice under nbclient against a real HTTP endpoint: the second run makes
no provider request and shows the same answers."""

import nbformat
import pytest
from nbclient import NotebookClient

from tests.support.fake_llm import FakeLLM, FakeToolCall, Rule
from tests.support.kernel import ROOT

pytestmark = pytest.mark.kernel

CELLS = [
    "%load_ext collet_nb",
    "%%collet\nmake notes about the plan",
    "%collet /wait 30",
    "%%collet\nsummarise them",
    "%collet /wait 30",
    "from collet_nb.ui.extension import active\n"
    "print([m.content for m in active().runner().session.context.messages"
    " if m.role == 'assistant'])",
]


def run_notebook(cwd, env) -> list[str]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    client = NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {}})
    client.km_kwargs = {}  # the kernel gets our environment through os.environ below
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        mp.chdir(cwd)
        client.execute(cwd=str(cwd))
    return [
        "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        for cell in nb.cells
    ]


def test_running_a_notebook_again_pays_nothing_and_shows_the_same_answers(tmp_path):
    rules = [
        Rule(role="tool", contains="wrote", text="Notes written."),
        Rule(
            contains="make notes",
            text="I'll write them down.",
            tool_calls=[
                FakeToolCall(name="file_write", arguments={"path": "n.md", "content": "x"})
            ],
        ),
        Rule(contains="summarise", text="One note: x."),
    ]
    with FakeLLM(rules) as llm:
        env = {
            "COLLET_PROVIDER": "openai",
            "COLLET_BASE_URL": llm.base_url,
            "COLLET_API_KEY": "sk-test-rerun",
            "COLLET_MODEL": "m",
            "COLLET_APPROVAL": "yolo",
            "COLLET_HOME": str(tmp_path / "home"),
            "PYTHONPATH": str(ROOT),
        }
        first = run_notebook(tmp_path, env)
        paid = len(llm.chat_requests)
        second = run_notebook(tmp_path, env)
        repaid = len(llm.chat_requests) - paid

    assert paid == 3
    assert repaid == 0
    assert "Notes written." in first[-1]
    assert "One note: x." in first[-1]
    assert second[-1] == first[-1]
    assert "m1 answered" in second[2]  # /wait reports replayed messages like any other
