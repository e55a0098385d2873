"""The notebook tools inside a real ipykernel: wired into the session's toolbox, summaries that
stay capped and run no user code, proposals made by a background task that arrive with the
next cell the user runs, and mentions expanded by ``%collet``."""

import ast
import textwrap
import time

import pytest

from tests.support.kernel import IPYKERNELS, KernelHarness

pytestmark = pytest.mark.kernel

# Runs a tool the way the agent loop does (through the session's toolbox) in a background task,
# so the cell that starts it ends first: the situation of every real tool call.
IMPORTS = """
import asyncio as _asyncio
from collet_nb.core.chat import ToolCall as _ToolCall
from collet_nb.ui.extension import active as _active
"""
START = """
_task = _asyncio.ensure_future(
    _active().runner().tools.call(_ToolCall(id="k", name={name!r}), {arguments!r})
)
"""
FINISH = "_r = await _asyncio.wait_for(_task, 10)\nprint(repr((_r.content, _r.is_error)))"


def start(ipykernel: str, tmp_path) -> KernelHarness:
    harness = KernelHarness(
        cwd=tmp_path, env={"COLLET_HOME": str(tmp_path / "home")}, ipykernel=ipykernel
    )
    reply, outputs = harness.execute("%load_ext collet_nb\nimport collet_nb\n" + IMPORTS)
    assert reply["status"] == "ok", harness.text(outputs)
    return harness


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    harness = start("current", tmp_path_factory.mktemp("kernel"))
    yield harness
    harness.shutdown()


def run(kernel: KernelHarness, code: str) -> dict:
    reply, outputs = kernel.execute(textwrap.dedent(code))
    assert reply["status"] == "ok", kernel.text(outputs)
    return reply


def use(kernel: KernelHarness, name: str, **arguments) -> tuple[str, bool, dict]:
    """(content, is_error, the execute reply of the cell that collected the result)."""
    run(kernel, START.format(name=name, arguments=arguments))
    reply, outputs = kernel.execute(FINISH)
    assert reply["status"] == "ok", kernel.text(outputs)
    content, is_error = ast.literal_eval(kernel.text(outputs).strip())
    return content, is_error, reply


def test_every_session_in_a_kernel_offers_the_notebook_tools(kernel):
    names = kernel.eval("[s.name for s in _active().runner().tools.specs()]")
    assert {"kernel_vars", "notebook_cells", "propose_cell"} <= set(names)


def test_kernel_vars_summarizes_common_values_under_its_caps_and_runs_no_user_code(kernel):
    run(
        kernel,
        """
        import numpy as np
        count = 42
        greeting = 'hello ' * 10_000
        numbers = list(range(100_000))
        config = {'lr': 0.1, 'layers': [64, 32], 'name': 'net'}
        grid = np.arange(1_000_000, dtype=np.float32).reshape(1000, 1000)
        effects = []
        class Sneaky:
            def __repr__(self): effects.append('repr'); return 'S'
            def __len__(self): effects.append('len'); return 0
            @property
            def shape(self): effects.append('shape'); return ()
        sneaky = Sneaky()
        try:
            import pandas as pd
            frame = pd.DataFrame({'a': range(100_000), 'b': ['x'] * 100_000})
            frame['obj'] = [sneaky] * 100_000
        except ImportError:
            pd = None
        """,
    )
    content, is_error, _ = use(kernel, "kernel_vars")
    assert not is_error
    assert len(content) <= 8000
    lines = {line.split(":", 1)[0]: line for line in content.splitlines() if ": " in line}
    assert lines["count"] == "count: int = 42"
    assert lines["greeting"].startswith("greeting: str len=60000 'hello hello")
    assert lines["numbers"] == "numbers: list len=100000 [0, 1, 2, 3, 4, …]"
    assert lines["config"] == "config: dict len=3 {'lr': 0.1, 'layers': [64, 32], 'name': 'net'}"
    assert lines["grid"] == (
        "grid: numpy.ndarray shape=(1000, 1000) dtype=float32 [0.0, 1.0, 2.0, 3.0, 4.0, …]"
    )
    assert lines["sneaky"] == "sneaky: __main__.Sneaky object"
    assert lines["Sneaky"] == "Sneaky: class __main__.Sneaky"
    for name in ("count", "greeting", "numbers", "config", "grid", "sneaky"):
        assert len(lines[name]) <= len(name) + 2 + 200
    assert "np" not in lines  # a module
    assert not any(name.startswith("_") or name in ("In", "Out", "exit") for name in lines)
    if kernel.eval("pd is not None"):
        block = content[content.index("frame: ") :].split("\n", 7)
        assert (
            block[0]
            == "frame: pandas.DataFrame shape=(100000, 3) columns: a:int64, b:str, obj:object"
        )
        assert "<Sneaky>" in block[2]
        assert len("\n".join(block[:7])) <= len("frame: ") + 800
    assert kernel.eval("effects") == []


def test_notebook_cells_shows_the_kernels_inputs_outputs_and_errors(kernel):
    run(kernel, "print('printed here')")
    run(kernel, "6 * 7")
    kernel.execute("raise ValueError('bad value')")
    content, _, _ = use(kernel, "notebook_cells", last=5)
    assert "stdout [" in content
    assert "printed here" in content
    assert "6 * 7\nOut [" in content
    assert "]:\n42" in content
    assert "ValueError: bad value" in content
    # The task ran between the cell that started it and the one that collected its result.
    last = content[content.rindex("In [") :]
    assert "_task = _asyncio.ensure_future(" in last


def test_a_mention_in_a_collet_message_attaches_the_variable(kernel):
    run(kernel, "weights = [0.25, 0.75]")
    run(kernel, "%collet is @weights normalised? mail me at ada@example.com")
    text = kernel.eval("collet_nb.status()['messages'][-1]['text']")
    typed, attached = text.split("\n\n---\nAttached for the @mentions above:")
    assert typed == "is @weights normalised? mail me at ada@example.com"
    assert attached.strip() == "@weights (variable): list len=2 [0.25, 0.75]"
    deadline = time.monotonic() + 30
    while kernel.eval("collet_nb.status()['state']") != "idle":
        assert time.monotonic() < deadline, "the demo answer did not finish"
        time.sleep(0.05)


@pytest.mark.parametrize("ipykernel", IPYKERNELS)
def test_a_proposal_names_what_it_overwrites_and_arrives_as_the_next_cell(ipykernel, tmp_path):
    kernel = start(ipykernel, tmp_path)
    try:
        run(
            kernel,
            """
            import json
            a, total, gone = 1, 0, 3
            def fit(): pass
            class Model: pass
            """,
        )
        code = (
            "a = 10\ntotal += 1\ndel gone\nimport os as json\n"
            "def fit(): return 1\nclass Model: pass\nfresh = 5"
        )
        content, is_error, reply = use(kernel, "propose_cell", code=code)
        assert not is_error
        assert content.splitlines()[1:] == [
            "Would overwrite: a, total, json, fit, Model",
            "Would delete: gone",
            "Would define: fresh",
        ]
        (payload,) = [p for p in reply["payload"] if p["source"] == "set_next_input"]
        assert payload["replace"] is False
        assert payload["text"].endswith("\n" + code)
        assert "# would overwrite: a, total, json, fit, Model" in payload["text"]
        # Proposed is not run: nothing changed, and the next cell gets nothing more.
        assert kernel.eval("(a, total, gone, json.__name__)") == (1, 0, 3, "json")
        reply, _ = kernel.execute("pass")
        assert [p for p in reply["payload"] if p["source"] == "set_next_input"] == []
    finally:
        kernel.shutdown()


def test_a_sidebar_that_takes_a_proposal_gets_it_instead_of_the_next_cell(tmp_path):
    kernel = start("current", tmp_path)
    try:
        run(
            kernel,
            "_got = []\n_active().notebook_tools.add_sidebar(lambda m: _got.append(m) or True)",
        )
        content, _, reply = use(kernel, "propose_cell", code="x = 1")
        assert "by the collet sidebar" in content
        assert [p for p in reply["payload"] if p["source"] == "set_next_input"] == []
        assert kernel.eval("_got") == [
            {"type": "propose_cell", "id": "p1", "code": "x = 1", "warnings": []}
        ]
    finally:
        kernel.shutdown()


def test_without_a_front_end_the_notebook_tools_say_so_and_fall_back(tmp_path):
    """No labextension (nbclient, VS Code): notebook_read is the kernel's history, an edit is
    refused towards propose_cell, an inserted code cell becomes a proposal, a delete is refused
    (issue 20)."""
    kernel = start("current", tmp_path)
    try:
        run(kernel, "total = 6 * 7\nprint('the total is', total)")
        content, is_error, _ = use(kernel, "notebook_read")
        assert not is_error
        assert content.startswith("No notebook front end is connected to this kernel")
        assert "total = 6 * 7" in content
        assert "the total is 42" in content

        content, is_error, _ = use(kernel, "notebook_edit", cell=0, source="total = 0")
        assert is_error
        assert "No notebook front end is connected" in content
        assert "Nothing was edited: propose the corrected code" in content
        assert kernel.eval("total") == 42

        content, is_error, reply = use(kernel, "notebook_insert", source="half = total / 2")
        assert not is_error
        assert "The code was proposed instead, as p1 (id p1" in content
        (payload,) = [p for p in reply["payload"] if p["source"] == "set_next_input"]
        assert payload["text"].endswith("\nhalf = total / 2")
        assert kernel.eval("'half' in dir()") is False  # proposed, never run

        content, is_error, _ = use(kernel, "notebook_insert", source="# Notes", type="markdown")
        assert is_error
        assert "Nothing was inserted" in content

        content, is_error, reply = use(kernel, "notebook_delete", cell=0)
        assert is_error
        assert content.startswith("No notebook front end is connected to this kernel")
        assert "Nothing was deleted" in content
        assert reply["payload"] == []  # no cell replaced or removed through the execute reply
        assert kernel.eval("total") == 42
    finally:
        kernel.shutdown()


@pytest.mark.parametrize("ipykernel", IPYKERNELS)
def test_without_a_front_end_a_proposal_runs_in_the_kernel_with_its_output_captured(
    ipykernel, tmp_path
):
    """notebook_run without a front end (nbclient, VS Code): the agent's task runs a proposal in
    the kernel while another cell awaits; its print and result come back to the model and stay
    out of that cell's outputs, its variables are the kernel's, the history is untouched
    (issue 20)."""
    kernel = start(ipykernel, tmp_path)
    try:
        run(kernel, "total = 6 * 7")
        content, is_error, _ = use(
            kernel, "notebook_insert", source="print('halving')\nhalf = total / 2\nhalf"
        )
        assert not is_error
        assert "as p1 (id p1" in content
        run(kernel, START.format(name="notebook_run", arguments={"cell": "p1"}))
        reply, outputs = kernel.execute(FINISH)  # the run happens while this cell awaits
        assert reply["status"] == "ok", kernel.text(outputs)
        printed = kernel.text(outputs)
        content, is_error = ast.literal_eval(printed.strip())
        assert not is_error
        assert "So proposal p1 (id p1) ran in the kernel itself" in content
        assert "stdout: halving" in content
        assert content.endswith("Out: 21.0")
        assert len(outputs) == 1  # the test's own print: the run's output was captured
        assert kernel.eval("half") == 21.0
        # The run entered no history (the kernel's history holds the cells it was sent).
        assert kernel.eval("any(s.startswith(\"print('halving')\") for s in In)") is False

        content, is_error, _ = use(kernel, "notebook_run", cell=0)
        assert is_error
        assert "only the cells you proposed" in content
    finally:
        kernel.shutdown()
