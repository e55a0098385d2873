"""``notebook_run`` (collet_nb/ui/notebook_run.py, notebook_fallback.py) over a real IPython
shell: a wait that holds the kernel gives way as soon as the agent needs the kernel; without a
front end a proposal runs in the kernel with its output, result, pictures and error captured
for the message's view (nothing enters the history); the approval shows the names a run would
overwrite, as propose_cell's check does."""

from __future__ import annotations

import asyncio
import json
import sys
import types
from typing import Any

import pytest

from collet_nb.core.chat import ToolCall
from collet_nb.core.preview import summary
from collet_nb.ui.notebook_run import RunWatch, run_in_kernel, settle_or_yield, wait_seconds
from collet_nb.ui.notebook_tools import NotebookTools
from tests.support.images import png_base64, png_bytes


@pytest.fixture
def tools(shell):
    notebook = NotebookTools(shell)
    notebook.install()
    yield notebook
    notebook.uninstall()


def use(tools: NotebookTools, name: str, **arguments: Any):
    return asyncio.run(tools.call(ToolCall(id="t1", name=name), arguments))


# ── a wait gives way to the agent's run ──


def test_a_wait_ends_as_soon_as_the_agent_needs_the_kernel_and_keeps_its_result_otherwise():
    watch = RunWatch()

    async def scenario() -> tuple[object, object, str]:
        never = asyncio.get_running_loop().create_future()
        waiting = asyncio.ensure_future(settle_or_yield(never, watch))
        await asyncio.sleep(0)
        assert not waiting.done()
        watch.want("c3")  # the agent asked the front end to run cell c3
        yielded = await asyncio.wait_for(waiting, 1)
        assert never.cancelled()  # the wait it stood for was dropped with it
        # While a run is wanted, a new wait gives way at once; once it ran, waits wait again.
        again = await asyncio.wait_for(settle_or_yield(asyncio.sleep(5, "idle"), watch), 1)
        watch.on_post_run_cell(types.SimpleNamespace(info=types.SimpleNamespace(cell_id="c3")))
        assert watch.wanted == ()  # the kernel ran it: its reply is on its way
        settled = await asyncio.wait_for(settle_or_yield(asyncio.sleep(0.01, "idle"), watch), 1)
        return yielded, again, str(settled)

    assert asyncio.run(scenario()) == (None, None, "idle")


def test_a_wait_that_times_out_still_says_so():
    async def late() -> None:
        raise TimeoutError

    with pytest.raises(TimeoutError):
        asyncio.run(settle_or_yield(late(), RunWatch()))


def test_a_run_waits_60_s_by_default_and_never_past_the_tool_timeout():
    assert wait_seconds(None, 120) == 60
    assert wait_seconds(300, 120) == 118  # the loop's own timeout would cut a vaguer message
    assert wait_seconds(True, 120) == 60
    assert wait_seconds(5, 120) == 5


# ── without a front end: a proposal runs in the kernel ──


def test_code_run_in_the_kernel_gives_its_prints_result_pictures_and_stays_out_of_history(shell):
    shell.user_ns["rows"] = [3, 1, 2]
    before = shell.execution_count
    code = (
        "from IPython.display import Image, display\n"
        "print('sorted:', sorted(rows))\n"
        f"display(Image(data={png_bytes(10, 4)!r}))\n"
        "total = sum(rows)\n"
        "total * 2"
    )
    run = asyncio.run(run_in_kernel(shell, code, source="p1"))
    assert run.error is None
    assert run.outputs[0] == "stdout: sorted: [1, 2, 3]\n"
    assert run.outputs[-1] == "Out: 12"
    assert [(i.mime, i.dimensions, i.source) for i in run.images] == [("image/png", (10, 4), "p1")]
    assert shell.user_ns["total"] == 6
    assert shell.execution_count == before  # nothing entered the kernel's history


def test_code_that_raises_gives_the_error_and_the_traceback_of_its_own_lines(shell):
    code = "x = 1\nprint('before')\nx.nope\nprint('never')"
    run = asyncio.run(run_in_kernel(shell, code, source="p2"))
    assert run.error == "AttributeError: 'int' object has no attribute 'nope'"
    assert run.outputs == ("stdout: before\n",)
    assert 'File "<collet p2>", line 3' in run.traceback
    assert "notebook_run.py" not in run.traceback
    assert "x.nope" in run.traceback
    text = run.text()
    assert "── error ──" in text


def test_magics_and_top_level_await_run_as_in_a_cell(shell):
    code = "import asyncio\n%time n = 2\nawait asyncio.sleep(0, n + 1)"
    run = asyncio.run(run_in_kernel(shell, code, source="p1"))
    assert run.error is None
    assert run.outputs[-1] == "Out: 3"
    syntax = asyncio.run(run_in_kernel(shell, "def (", source="p1"))
    assert syntax.error is not None
    assert syntax.error.startswith("SyntaxError")


def test_a_figure_the_code_opens_comes_back_as_a_picture_and_is_closed(shell, monkeypatch):
    """matplotlib is not a dependency: a stand-in pyplot with its few calls used here."""
    figures: dict[int, object] = {}

    class Figure:
        def savefig(self, buffer, **_kw) -> None:
            buffer.write(png_bytes(20, 10))

    pyplot = types.ModuleType("matplotlib.pyplot")
    pyplot.get_fignums = lambda: sorted(figures)
    pyplot.figure = lambda n=None: figures.setdefault(n or len(figures) + 1, Figure())
    pyplot.close = lambda f: [figures.pop(k) for k, v in list(figures.items()) if v is f]
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", pyplot)
    shell.user_ns["plt"] = pyplot
    run = asyncio.run(run_in_kernel(shell, "plt.figure()\nNone", source="p1"))
    assert [(i.mime, i.dimensions) for i in run.images] == [("image/png", (20, 10))]
    assert figures == {}  # closed: it will not show again below the next cell


def test_without_a_front_end_the_agent_inserts_runs_fixes_and_reruns_a_proposal(shell, tools):
    shell.user_ns["sales"] = {"north": 3, "south": 5}
    code = "best = max(sales, key=sales.get)\nsales['west']"
    inserted = use(tools, "notebook_insert", source=code)
    assert not inserted.is_error
    assert "proposed instead, as p1 (id p1" in inserted.content

    ran = use(tools, "notebook_run", cell="p1")
    assert not ran.is_error
    assert "So proposal p1 (id p1) raised KeyError: 'west' in the kernel itself" in ran.content
    assert "in this message's view only, not in the notebook" in ran.content

    fixed = use(tools, "notebook_edit", cell="p1", source="best = max(sales, key=sales.get)\nbest")
    assert not fixed.is_error
    assert "Changed the code of proposal p1 (id p1)" in fixed.content
    ran = use(tools, "notebook_run", cell="p1")
    assert "So proposal p1 (id p1) ran in the kernel itself" in ran.content
    assert ran.content.endswith("── output ──\nOut: 'south'")

    # It still arrives below the next cell the person runs, saying that it ran.
    shell.rl_next_input = None
    shell.run_cell("pass", store_history=True)
    assert shell.rl_next_input.startswith("# proposed by collet (p1), which ran it in the kernel")
    assert shell.rl_next_input.endswith("best = max(sales, key=sales.get)\nbest")
    # Delivered, it is the person's: an edit of it becomes a new proposal, which runs.
    late = use(tools, "notebook_edit", cell="p1", source="best")
    assert not late.is_error
    assert "so the corrected code was proposed as a new cell instead: p2 (id p2)" in late.content
    assert use(tools, "notebook_run", cell="p2").content.endswith("Out: 'south'")


def test_without_a_front_end_only_proposals_run(shell, tools):
    for cell in (0, "c1", "p9"):
        result = use(tools, "notebook_run", cell=cell)
        assert result.is_error
        assert "only the cells you proposed" in result.content
    use(tools, "notebook_insert", source="%collet /wait")
    refused = use(tools, "notebook_run", cell="p1")
    assert refused.is_error
    assert "sends to the agent itself" in refused.content


def test_the_approval_of_a_run_shows_the_code_and_the_names_it_would_overwrite(shell, tools):
    shell.user_ns["df"] = object()
    use(tools, "notebook_insert", source="df = load()\nsummary = df.describe()")
    call = ToolCall(id="r", name="notebook_run", arguments=json.dumps({"cell": "p1"}))
    preview = tools.run_preview(call)
    assert preview is not None
    assert preview["kind"] == "notebook_run"
    assert preview["code"] == "df = load()\nsummary = df.describe()"
    assert preview["warnings"] == ["would overwrite: df"]
    assert preview["problem"] == ""
    assert preview["path"].startswith("proposal p1: no notebook front end")
    assert summary(preview) == f"runs {preview['path']} (would overwrite: df)"
    unknown = tools.run_preview(ToolCall(id="u", name="notebook_run", arguments='{"cell": 4}'))
    assert unknown is not None
    assert "only the cells you proposed" in unknown["problem"]
    assert summary(unknown).startswith("runs  (will fail: ")
    assert tools.run_preview(ToolCall(id="x", name="notebook_read", arguments="{}")) is None
    # Without a front end an insert's approval says it becomes a proposal, an edit's the diff
    # against the proposal's code.
    insert = ToolCall(id="i", name="notebook_insert", arguments='{"source": "x = 1"}')
    assert tools.own_preview(insert)["path"].startswith("a proposal (no notebook front end")
    edit = ToolCall(id="e", name="notebook_edit", arguments='{"cell": "p1", "source": "df = 2"}')
    shown = tools.own_preview(edit)
    assert shown["path"] == "proposal p1 (not in the notebook yet)"
    assert "+df = 2" in shown["diff"]


def test_an_image_of_a_run_through_the_front_end_reaches_the_tool_result(shell, tools):
    """The front end's reply carries the pictures; the tool result holds them as images."""
    cells = [{"index": 0, "id": "c0", "cell_type": "code", "source": "plot()",
              "execution_count": None, "outputs": []}]  # fmt: skip

    def front(request: dict[str, Any]) -> bool:
        reply: dict[str, Any] = {"request_id": request["request_id"], "ok": True, "path": "a"}
        if request["op"] == "read":
            reply["cells"] = cells
        else:
            shown = {"output_type": "display_data", "text": "<Figure>\n(also image/png, 99 …)"}
            cell = {**cells[0], "execution_count": 2, "outputs": [shown]}
            reply |= {"ran": True, "images": [{"mime": "image/png", "data": png_base64()}],
                      "cell": cell}  # fmt: skip
        asyncio.get_running_loop().call_soon(tools.fronts.deliver, reply)
        return True

    tools.fronts.add(front)

    async def scenario():
        await tools.call(ToolCall(id="a", name="notebook_read"), {})
        return await tools.call(ToolCall(id="b", name="notebook_run"), {"cell": 0})

    result = asyncio.run(scenario())
    assert not result.is_error
    assert result.content.startswith("Ran cell 0 (id c0) as [2]; its outputs are in the notebook")
    assert [(i.mime, i.source) for i in result.images] == [("image/png", "cell 0")]
