"""A notebook front end for the kernel's notebook tools: answers ``notebook_request``s the way
labextension/src/notebook.ts does (read, edit, insert, delete, run), at once or never."""

from __future__ import annotations

import asyncio
from typing import Any

from collet_nb.ui.notebook_front import FrontEnds, FrontNotebook


class FakeFront:
    """A notebook in a front end: answers requests at once, as notebook.ts does."""

    def __init__(self, fronts: FrontEnds, cells: list[tuple[str, str]]) -> None:
        self.fronts = fronts
        self.cells = [{"id": i, "cell_type": "code", "source": s} for i, s in cells]
        self.requests: list[dict[str, Any]] = []
        # What a run of a cell shows, by id (outputs as the front end words them).
        self.runs: dict[str, list[dict[str, str]]] = {}
        self.images: list[dict[str, str]] = []
        self.answer_runs = True  # False: a run never ends (the kernel is busy)

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
        elif request["op"] == "run":
            index = ids.index(request["cell_id"])
            if self.cells[index]["source"] != request["expected"]:
                reply = {**reply, "ok": False, "error": "the user changed it; nothing was run"}
            elif not self.answer_runs:
                return True  # sent; the kernel never gets to it
            else:
                cell = {**self.wire(index), "execution_count": 7,
                        "outputs": self.runs.get(request["cell_id"], [])}  # fmt: skip
                reply |= {"ran": True, "images": self.images, "cell": cell}
        elif request["op"] == "insert":
            after = request["after_id"]
            index = len(self.cells) if after is None else ids.index(after) + 1
            new = {"id": f"new{len(self.requests)}", "cell_type": request["cell_type"],
                   "source": request["source"]}  # fmt: skip
            self.cells.insert(index, new)
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
