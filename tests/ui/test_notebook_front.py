"""The kernel's side of the notebook tools over a front end (collet_nb/ui/notebook_front.py),
against a fake front end that answers like labextension/src/notebook.ts: cells addressed by
the index of the agent's last read keep naming the same cell when the person inserts one
above; an edit or a delete carries the source the agent read; the approval's diff is against
it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from collet_nb.core.chat import ToolCall
from collet_nb.errors import ToolError
from collet_nb.ui.notebook_front import FrontEnds, FrontNotebook


class FakeFront:
    """A notebook in a front end: answers requests at once, as notebook.ts does."""

    def __init__(self, fronts: FrontEnds, cells: list[tuple[str, str]]) -> None:
        self.fronts = fronts
        self.cells = [{"id": i, "cell_type": "code", "source": s} for i, s in cells]
        self.requests: list[dict[str, Any]] = []

    def wire(self, index: int) -> dict[str, Any]:
        return {**self.cells[index], "index": index, "execution_count": None, "outputs": []}

    def send(self, request: dict[str, Any]) -> bool:
        self.requests.append(request)
        reply: dict[str, Any] = {"request_id": request["request_id"], "ok": True, "path": "a.ipynb"}
        ids = [c["id"] for c in self.cells]
        if request["op"] == "read":
            reply["cells"] = [self.wire(i) for i in range(len(self.cells))]
        elif request["op"] == "edit":
            index = ids.index(request["cell_id"])
            if self.cells[index]["source"] != request["expected"]:
                reply = {**reply, "ok": False, "error": "the user changed it"}
            else:
                self.cells[index]["source"] = request["source"]
                reply["cell"] = self.wire(index)
        elif request["op"] == "delete":
            index = ids.index(request["cell_id"])
            if self.cells[index]["source"] != request["expected"]:
                reply = {**reply, "ok": False, "error": "the user changed it; nothing was deleted"}
            else:
                reply["cell"] = self.wire(index)
                del self.cells[index]
        asyncio.get_running_loop().call_soon(self.fronts.deliver, reply)
        return True


def notebook(*cells: tuple[str, str]) -> tuple[FrontNotebook, FakeFront]:
    fronts = FrontEnds(timeout=1.0)
    front = FakeFront(fronts, list(cells))
    fronts.add(front.send)
    return FrontNotebook(fronts), front


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
