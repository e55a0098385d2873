"""The kernel's side of the notebook tools over a front end (collet_nb/ui/notebook_front.py),
against a fake front end that answers like labextension/src/notebook.ts: cells addressed by
the index of the agent's last read keep naming the same cell when the person inserts one
above; an edit, a delete or a run carries the source the agent read; the approval's diff is
against it; a run returns the cell's outputs, its error and its pictures, and one that does
not end in time says whether it runs or waits behind another cell."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from collet_nb.core.chat import ToolCall
from collet_nb.errors import ToolError
from collet_nb.ui.notebook_front import FrontEnds, FrontNotebook
from collet_nb.ui.notebook_run import RunWatch
from tests.support.fake_front import FakeFront, notebook
from tests.support.images import png_base64


def test_an_index_names_the_cell_of_the_last_read_even_after_the_person_inserts_above():
    nb, front = notebook(("c0", "a = 1"), ("c1", "b = 2"))

    async def scenario() -> str:
        await nb.read(None)
        front.cells.insert(0, {"id": "new", "cell_type": "code", "source": "# the person's"})
        return await nb.edit(1, "b = 3")

    said = asyncio.run(scenario())
    assert front.requests[-1]["cell_id"] == "c1"
    assert front.requests[-1]["expected"] == "b = 2"
    assert [c["source"] for c in front.cells] == ["# the person's", "a = 1", "b = 3"]
    assert said.startswith("Edited cell 1 (id c1)")


def test_an_edit_needs_a_read_first_and_is_refused_when_the_cell_changed():
    nb, front = notebook(("c0", "a = 1"))
    with pytest.raises(ToolError, match="read the notebook first"):
        asyncio.run(nb.edit(0, "a = 2"))
    assert front.requests == []

    async def scenario() -> None:
        await nb.read(None)
        front.cells[0]["source"] = "a = 10  # the person's"
        await nb.edit("c0", "a = 2")

    with pytest.raises(ToolError, match="the user changed it"):
        asyncio.run(scenario())
    assert front.cells[0]["source"] == "a = 10  # the person's"


def test_the_approval_shows_the_diff_against_what_the_agent_read():
    nb, _front = notebook(("c0", "a=1"))
    asyncio.run(nb.read(None))
    call = ToolCall(
        id="e", name="notebook_edit", arguments=json.dumps({"cell": 0, "source": "a = 1"})
    )
    preview = nb.preview(call)
    assert preview is not None
    assert preview["kind"] == "file_edit"
    assert preview["path"] == "a.ipynb cell 0 (id c0)"
    assert preview["problem"] == ""
    assert preview["diff"].splitlines()[-2:] == ["-a=1", "+a = 1"]


def test_no_reply_in_time_says_the_outcome_is_unknown():
    fronts = FrontEnds(timeout=0.05)
    fronts.add(lambda _request: True)  # sent, never answered
    with pytest.raises(ToolError, match=r"did not answer in 0\.05 s"):
        asyncio.run(FrontNotebook(fronts).read(None))


def test_a_reply_nobody_waits_for_is_dropped():
    assert FrontEnds().deliver({"request_id": "n9", "ok": True}) is False


def test_a_delete_removes_the_cell_read_even_after_the_person_inserts_above():
    nb, front = notebook(("c0", "a = 1"), ("c1", "b = 2"), ("c2", "c = 3"))

    async def scenario() -> str:
        await nb.read(None)
        front.cells.insert(0, {"id": "new", "cell_type": "code", "source": "# the person's"})
        return await nb.delete(1)

    said = asyncio.run(scenario())
    assert front.requests[-1] == {
        "op": "delete",
        "cell_id": "c1",
        "expected": "b = 2",
        "message_id": "",
        "type": "notebook_request",
        "request_id": "n2",
    }
    assert [c["id"] for c in front.cells] == ["new", "c0", "c2"]
    assert said.startswith("Deleted cell 1 (id c1) from the notebook")
    assert "undo" in said
    # The agent's own delete moves the cells below it up in its view of the last read.
    assert nb.resolve(1, tool="t") == "c2"
    assert "c1" not in nb.seen


def test_a_delete_needs_a_read_and_is_refused_when_the_cell_changed():
    nb, front = notebook(("c0", "a = 1"))
    with pytest.raises(ToolError, match="read the notebook first"):
        asyncio.run(nb.delete("c0"))
    assert front.requests == []

    async def scenario() -> None:
        await nb.read(None)
        front.cells[0]["source"] = "a = 10  # the person's"
        await nb.delete(0)

    with pytest.raises(ToolError, match="the user changed it; nothing was deleted"):
        asyncio.run(scenario())
    assert [c["source"] for c in front.cells] == ["a = 10  # the person's"]
    assert nb.seen == {"c0": "a = 1"}  # a retry is refused too until the agent reads again


def test_the_approval_of_a_delete_shows_the_source_that_goes():
    nb, _front = notebook(("c0", "a = 1"), ("c1", "import os\nos.remove('x')"))
    asyncio.run(nb.read(None))
    call = ToolCall(id="d", name="notebook_delete", arguments=json.dumps({"cell": "c1"}))
    preview = nb.preview(call)
    assert preview is not None
    assert preview["kind"] == "file_edit"
    assert preview["path"] == "a.ipynb cell 1 (id c1), deleted"
    assert preview["problem"] == ""
    assert preview["diff"].splitlines()[-2:] == ["-import os", "-os.remove('x')"]
    unread = ToolCall(id="u", name="notebook_delete", arguments=json.dumps({"cell": 7}))
    shown = nb.preview(unread)
    assert shown is not None
    assert "does not exist" in shown["problem"]


# ── notebook_run ──


def test_a_run_sends_the_source_the_agent_read_and_returns_outputs_error_and_pictures():
    nb, front = notebook(("c0", "import pandas"), ("c1", "df.head()"))
    front.runs["c1"] = [
        {"output_type": "error", "text": "NameError: name 'df' is not defined\nTraceback …"}
    ]
    front.images = [{"mime": "image/png", "data": png_base64(8, 6)}, {"mime": "x/y", "data": "?"}]

    async def scenario() -> tuple[str, Any]:
        await nb.read(None)
        nb.message_id = "m3"
        return await nb.run(1, timeout=5)

    text, images = asyncio.run(scenario())
    request = front.requests[-1]
    assert {k: request[k] for k in ("op", "cell_id", "expected", "message_id")} == {
        "op": "run", "cell_id": "c1", "expected": "df.head()", "message_id": "m3"
    }  # fmt: skip
    assert text.startswith("Ran cell 1 (id c1) as [7]: it raised NameError: name 'df' is not")
    assert "── output ──\nNameError" in text
    assert [(i.mime, i.source, i.dimensions) for i in images] == [("image/png", "cell 1", (8, 6))]
    assert nb.watch.wanted == ()  # the run has ended: no wait needs to give way any more


def test_a_run_of_a_cell_the_person_changed_is_refused_and_nothing_runs():
    nb, front = notebook(("c0", "x = 1"))

    async def scenario() -> None:
        await nb.read(None)
        front.cells[0]["source"] = "x = 1  # the person's"
        await nb.run("c0", timeout=5)

    with pytest.raises(ToolError, match="the user changed it; nothing was run"):
        asyncio.run(scenario())


@pytest.mark.parametrize(
    ("source", "kind", "why"),
    [
        ("%collet /wait", "code", "sends to the agent itself"),
        ("%%collet\nhello", "code", "sends to the agent itself"),
        ("# Title", "markdown", "is a markdown cell: only code cells run"),
    ],
)
def test_a_run_of_a_markdown_cell_or_one_that_talks_to_the_agent_is_refused_before_sending(
    source, kind, why
):
    nb, front = notebook(("c0", source))
    front.cells[0]["cell_type"] = kind
    asyncio.run(nb.read(None))
    with pytest.raises(ToolError, match=why):
        asyncio.run(nb.run(0, timeout=5))
    assert [r["op"] for r in front.requests] == ["read"]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_run_that_does_not_end_in_time_says_whether_it_waits_behind_another_cell_or_runs():
    clock = Clock()
    fronts = FrontEnds(timeout=1.0)
    front = FakeFront(fronts, [("c0", "train()")])
    front.answer_runs = False
    fronts.add(front.send)
    nb = FrontNotebook(fronts, RunWatch(clock))
    asyncio.run(nb.read(None))
    # The person's own long cell runs; the agent's cell waits behind it.
    nb.watch.on_pre_run_cell(type("Info", (), {"cell_id": "theirs"})())
    clock.now += 30
    with pytest.raises(ToolError) as queued:
        asyncio.run(nb.run(0, timeout=0.05))
    assert "cell 0 (id c0) has not started after 0.05 s: the kernel is busy with another" in str(
        queued.value
    )
    assert "(it has been running for 30 s)" in str(queued.value)
    assert "do not run it again" in str(queued.value)

    async def started_then_late() -> None:
        task = asyncio.ensure_future(nb.run(0, timeout=0.05))
        await asyncio.sleep(0)  # the request is out: the cell is wanted
        nb.watch.on_post_run_cell(None)  # the person's cell ends …
        nb.watch.on_pre_run_cell(type("Info", (), {"cell_id": "c0"})())  # … ours starts
        clock.now += 12
        await task

    with pytest.raises(ToolError, match=r"cell 0 \(id c0\) has run for 12 s and has not finished"):
        asyncio.run(started_then_late())
    assert nb.watch.wanted == ()


def test_a_read_gives_the_pictures_of_the_cells_it_shows():
    # Mutation: read() returning no images -> the plot never reaches the model.
    nb, front = notebook(("c0", "df.head()"), ("c1", "df.plot()"))
    plot = png_base64(40, 30)
    front.cells[1]["images"] = [{"mime": "image/png", "data": plot}]
    _, every = asyncio.run(nb.read(None))
    (image,) = every
    assert (image.data, image.dimensions, image.source) == (plot, (40, 30), "cell 1")
    _, first_only = asyncio.run(nb.read([0]))
    assert first_only == ()
