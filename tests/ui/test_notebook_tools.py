"""NotebookTools over a real IPython shell: variables, cells, proposals and their delivery."""

import asyncio
import types

import pytest

from collet_nb.adapters.tools.toolbox import Toolbox
from collet_nb.core.approval import needs_approval
from collet_nb.core.chat import ToolCall
from collet_nb.core.kinds import ApprovalMode
from collet_nb.core.ports import ToolPort
from collet_nb.core.preview import GenericPreviewer
from collet_nb.ui.notebook_front import NotebookPreviewer
from collet_nb.ui.notebook_tools import CellLimits, NotebookTools


@pytest.fixture
def tools(shell):
    notebook = NotebookTools(shell)
    notebook.install()
    yield notebook
    notebook.uninstall()


def run(shell, code: str) -> None:
    shell.run_cell(code, store_history=True)


def use(tools, name: str, **arguments):
    return asyncio.run(tools.call(ToolCall(id="t1", name=name), arguments))


NAMES = [
    "kernel_vars", "notebook_cells", "propose_cell", "notebook_read", "notebook_edit",
    "notebook_insert", "notebook_delete", "notebook_run",
]  # fmt: skip


def test_the_tools_are_offered_and_only_those_that_change_the_notebook_ask_in_auto_mode(tools):
    port: ToolPort = tools
    specs = {spec.name: spec for spec in port.specs()}
    assert list(specs) == NAMES
    asks = {
        name
        for name, spec in specs.items()
        if needs_approval(mode=ApprovalMode.AUTO, spec=spec, session_allowed=())
    }
    assert asks == {
        "propose_cell", "notebook_edit", "notebook_insert", "notebook_delete", "notebook_run"
    }  # fmt: skip


def test_kernel_vars_lists_the_users_variables_and_skips_the_rest(shell, tools):
    run(shell, "import json\nx = 3\n_private = 1\nname = 'ada'\ndef f(a): return a\n1 + 1")
    result = use(tools, "kernel_vars")
    assert not result.is_error
    assert result.content.splitlines() == ["x: int = 3", "name: str len=3 'ada'", "f: function(a)"]


def test_a_name_ipython_hides_counts_once_the_user_rebinds_it(shell, tools):
    run(shell, "In = [1, 2]")
    assert "In: list len=2 [1, 2]" in use(tools, "kernel_vars").content
    assert "Out" not in use(tools, "kernel_vars").content


def test_kernel_vars_with_names_shows_just_those_and_says_which_are_missing(shell, tools):
    run(shell, "a = 1\nb = [1]\n_c = 'x'")
    result = use(tools, "kernel_vars", names=["b", "_c", "ghost"])
    assert result.content.splitlines() == [
        "b: list len=1 [1]",
        "_c: str len=1 'x'",
        "ghost: not defined",
    ]
    assert use(tools, "kernel_vars", names="a, b").content.splitlines()[0] == "a: int = 1"


def test_kernel_vars_refuses_names_that_are_not_strings(tools):
    result = use(tools, "kernel_vars", names=[1, 2])
    assert result.is_error
    assert "'names' must be an array of strings" in result.content


def test_kernel_vars_says_so_when_nothing_is_defined(tools):
    assert "no variables are defined yet" in use(tools, "kernel_vars").content


def test_kernel_vars_never_runs_a_user_objects_code(shell, tools):
    run(
        shell,
        "calls = []\n"
        "class Leaky:\n"
        "    def __repr__(self): calls.append('repr'); return 'L'\n"
        "    def __len__(self): calls.append('len'); return 1\n"
        "    @property\n"
        "    def shape(self): calls.append('shape'); return (1,)\n"
        "leak = Leaky()\n"
        "box = [leak, {'k': leak}]",
    )
    content = use(tools, "kernel_vars").content
    assert shell.user_ns["calls"] == []
    assert "leak: __main__.Leaky object" in content


def test_notebook_cells_shows_inputs_outputs_and_errors_with_counts(shell, tools):
    run(shell, "x = 1\nprint('hello')\nx + 1")
    run(shell, "1 / 0")
    run(shell, "from IPython.display import display\ndisplay({'a': 1})")
    text = use(tools, "notebook_cells").content
    assert text.split("\n\n")[0].splitlines() == [
        "In [1]:",
        "x = 1",
        "print('hello')",
        "x + 1",
        "stdout [1]:",
        "hello",
        "Out [1]:",
        "2",
    ]
    assert "Error [2]: ZeroDivisionError: division by zero" in text
    assert "----> 1 1 / 0" in text
    assert "\x1b[" not in text  # the traceback's colours are gone
    assert "Display [3]:\n{'a': 1}" in text


def test_notebook_cells_returns_the_last_cells_oldest_first(shell, tools):
    for number in range(1, 6):
        run(shell, f"v{number} = {number}")
    text = use(tools, "notebook_cells", last=2).content
    assert [line for line in text.splitlines() if line.startswith("In [")] == ["In [4]:", "In [5]:"]


def test_notebook_cells_keeps_the_newest_cells_within_its_cap(shell):
    tools = NotebookTools(shell, cells=CellLimits(total_chars=300))
    for number in range(1, 8):
        run(shell, f"# cell {number}\n" + "x = 1\n" * 20)
    text = use(tools, "notebook_cells").content
    assert text.splitlines()[0].startswith("[cells 1–")
    assert "left out (the 300-character cap)" in text
    assert text.rstrip().endswith("x = 1")
    assert "In [7]:" in text


def test_a_long_input_is_cut_in_the_middle(shell):
    tools = NotebookTools(shell, cells=CellLimits(input_chars=100))
    run(shell, "a = 1\n" + "b = 2\n" * 200 + "c = 3")
    text = tools.cell(1)
    assert "characters cut" in text
    assert text.rstrip().endswith("c = 3")


def test_notebook_cells_before_any_cell_says_so(tools):
    assert use(tools, "notebook_cells").content == "no cells have run in this kernel yet"
    assert tools.cell(1) is None


def test_a_widget_output_is_named_not_dumped(shell, tools):
    run(
        shell,
        "from IPython.display import display\n"
        "display({'text/plain': 'VBox(children=(…))', "
        "'application/vnd.jupyter.widget-view+json': {'model_id': 'x'}}, raw=True)",
    )
    assert "Display [1]: (a widget)" in tools.cell(1)


def test_a_proposal_lists_the_existing_names_it_would_change(shell, tools):
    run(shell, "import numpy as np\ndf = 1\ntotal = 0\nold = 2\nrows = []")
    code = (
        "total += 1\ndel old\nimport json as np\ndef df(): pass\nrows.append(1)\nrows[0] = 2\nz = 1"
    )
    result = use(tools, "propose_cell", code=code)
    assert not result.is_error
    lines = result.content.splitlines()
    assert "It has NOT run" in lines[0]
    assert lines[1:] == [
        "Would overwrite: total, np, df",
        "Would delete: old",
        "Would modify in place: rows",
        "Would define: z",
    ]
    assert [p.code for p in tools.pending] == [code]


def test_magics_are_understood_before_the_check(shell, tools):
    run(shell, "x = 1\nfiles = []")
    result = use(tools, "propose_cell", code="%%time\nx = 2")
    assert "Would overwrite: x" in result.content
    assert "Would overwrite: files" in use(tools, "propose_cell", code="files = !ls").content


def test_code_that_does_not_parse_is_refused_and_nothing_is_proposed(tools):
    result = use(tools, "propose_cell", code="x = 1\ndef broken(:\n    pass")
    assert result.is_error
    assert "does not parse" in result.content
    assert "line 2" in result.content
    assert tools.pending == ()


def test_an_empty_proposal_is_refused(tools):
    assert use(tools, "propose_cell", code="  \n").is_error


def test_a_proposal_is_inserted_below_the_next_cell_the_user_runs_one_per_run(shell, tools):
    run(shell, "a = 1")
    use(tools, "propose_cell", code="a = 2")
    use(tools, "propose_cell", code="b = 3")
    shell.rl_next_input = None
    run(shell, "pass")
    first = shell.rl_next_input
    assert first.splitlines() == [
        "# proposed by collet (p1): read it, then run it if it is right",
        "# would overwrite: a",
        "a = 2",
    ]
    run(shell, "pass")
    assert shell.rl_next_input.endswith("\nb = 3")
    assert tools.pending == ()
    shell.rl_next_input = None
    run(shell, "pass")
    assert shell.rl_next_input is None


def test_a_cell_that_sets_its_own_next_input_keeps_it(shell, tools):
    use(tools, "propose_cell", code="x = 1")
    run(
        shell,
        "get_ipython().payload_manager.write_payload("
        "{'source': 'set_next_input', 'text': 'mine', 'replace': True})",
    )
    assert [p.id for p in tools.pending] == ["p1"]
    shell.payload_manager.clear_payload()
    run(shell, "pass")
    assert tools.pending == ()


def test_a_sidebar_that_takes_a_proposal_inserts_it_instead(shell, tools):
    run(shell, "a = 1")
    received = []
    stop = tools.add_sidebar(lambda message: received.append(message) or True)
    result = use(tools, "propose_cell", code="a = 5")
    assert received == [
        {"type": "propose_cell", "id": "p1", "code": "a = 5", "warnings": ["would overwrite: a"]}
    ]
    assert tools.pending == ()
    assert "by the collet sidebar" in result.content
    stop()
    use(tools, "propose_cell", code="a = 6")
    assert len(received) == 1
    assert [p.id for p in tools.pending] == ["p2"]


def test_a_sidebar_that_declines_or_fails_leaves_the_proposal_waiting(tools):
    tools.add_sidebar(lambda _message: False)

    def broken(_message):
        raise RuntimeError("comm closed")

    tools.add_sidebar(broken)
    use(tools, "propose_cell", code="x = 1")
    assert [p.code for p in tools.pending] == ["x = 1"]


def test_proposals_beyond_the_waiting_limit_are_refused(shell):
    tools = NotebookTools(shell, max_pending=2)
    use(tools, "propose_cell", code="x = 1")
    use(tools, "propose_cell", code="x = 2")
    result = use(tools, "propose_cell", code="x = 3")
    assert result.is_error
    assert "already wait" in result.content


def test_uninstalled_tools_deliver_nothing_and_forget_their_proposals(shell, tools):
    use(tools, "propose_cell", code="x = 1")
    tools.uninstall()
    shell.rl_next_input = None
    run(shell, "pass")
    assert shell.rl_next_input is None
    assert tools.pending == ()


def test_installing_twice_delivers_once(shell, tools):
    tools.install()
    use(tools, "propose_cell", code="x = 1")
    use(tools, "propose_cell", code="x = 2")
    run(shell, "pass")
    assert [p.code for p in tools.pending] == ["x = 2"]


def test_attach_adds_the_tools_to_a_sessions_toolbox_once(tools):
    box = Toolbox([])
    inner = GenericPreviewer(cwd=".")
    runner = types.SimpleNamespace(tools=box, previewer=inner)
    tools.attach(None, runner)
    tools.attach(None, runner)
    assert box.sources == (tools,)
    assert [s.name for s in box.specs()] == NAMES
    assert "propose_cell" in box.prompt_section()
    # The notebook tools' previews go in front of the session's own, once.
    assert isinstance(runner.previewer, NotebookPreviewer)
    assert runner.previewer.inner is inner


def test_a_call_through_the_toolbox_reaches_the_tools(shell, tools):
    run(shell, "answer = 42")
    box = Toolbox([tools])
    result = asyncio.run(box.call(ToolCall(id="c", name="kernel_vars"), {}))
    assert result.content == "answer: int = 42"


def test_an_unknown_tool_name_is_an_error_result(tools):
    result = use(tools, "kernel_eval")
    assert result.is_error
    assert "kernel_vars, notebook_cells, propose_cell" in result.content


def test_unknown_arguments_are_refused(tools):
    result = use(tools, "notebook_cells", count=3)
    assert result.is_error
    assert "unknown argument 'count'" in result.content
