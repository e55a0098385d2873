"""The notebook as the person sees it, through the front end (issue 20): ``notebook_read``,
``notebook_edit``, ``notebook_insert`` and ``notebook_delete``.

Where the labextension is connected (JupyterLab, Notebook 7), the kernel sends a
``notebook_request`` on the ``collet`` comm and the labextension performs it on the notebook
model of its panel (``labextension/src/notebook.ts``): a change shows at once, Ctrl+Z undoes it,
and the ``.ipynb`` is never written behind the front end's back. The reply is a
``notebook_reply`` (docs/protocol.md, "The notebook through the front end").

Cells are addressed by their stable id (an index is read against the notebook as the agent last
read it, so a cell the person inserted meanwhile does not shift the target). An edit or a delete
carries the source the agent last read of its cell: the front end refuses it when the cell's
source is no longer that (the person changed it), and the model is told why.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from collet_nb.adapters.tools.files import unified_diff
from collet_nb.adapters.tools.output import truncate_middle
from collet_nb.core.chat import ToolCall, ToolSpec
from collet_nb.core.preview import Preview, Previewer, parsed
from collet_nb.errors import ToolError

log = logging.getLogger("collet_nb")

NOTEBOOK_READ = ToolSpec(
    name="notebook_read",
    description=(
        "The open notebook as the user sees it now, unsaved edits and cells never run included: "
        "every cell's index, id, type, source and text outputs (images as their type and "
        "size). With `cells` (ids or indices), just those. Read before you edit: an edit "
        "applies to the cell as you last read it."
    ),
    parameters={
        "type": "object",
        "properties": {
            "cells": {
                "type": "array",
                "items": {"type": ["string", "integer"]},
                "description": "Cell ids or 0-based indices to show (default: every cell).",
            }
        },
        "additionalProperties": False,
    },
    read_only=True,
)


def _object(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    """A closed ``object`` schema of ``properties``."""
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _cell(description: str) -> dict[str, Any]:
    """The schema of an argument naming a cell (its id, or its index in the last read)."""
    return {"type": ["string", "integer"], "description": description}


NOTEBOOK_EDIT = ToolSpec(
    name="notebook_edit",
    description=(
        "Replace the whole source of one notebook cell (the user approves it, seeing the "
        "diff; it does not run the cell). `cell` is the cell's id from notebook_read (or its "
        "index in your last notebook_read). If the user changed that cell since you read it, "
        "the edit is refused: read it again and edit what is there now."
    ),
    parameters=_object(
        ["cell", "source"],
        cell=_cell("The cell's id (or its index in your last notebook_read)."),
        source={"type": "string", "description": "The cell's new source, complete."},
    ),
    read_only=False,
)

NOTEBOOK_INSERT = ToolSpec(
    name="notebook_insert",
    description=(
        "Insert a new cell into the notebook (the user approves it; it does not run). "
        "`after`: the id (or index in your last notebook_read) of the cell it goes below; "
        "without it, at the end. `type`: code (default) or markdown."
    ),
    parameters=_object(
        ["source"],
        after=_cell("The cell it goes below (default: at the end)."),
        source={"type": "string", "description": "The new cell's source."},
        type={"type": "string", "enum": ["code", "markdown"]},
    ),
    read_only=False,
)

NOTEBOOK_DELETE = ToolSpec(
    name="notebook_delete",
    description=(
        "Delete one notebook cell (the user approves it, seeing the source that goes). `cell` "
        "is the cell's id from notebook_read (or its index in your last notebook_read). If the "
        "user changed that cell since you read it, the delete is refused: read it again."
    ),
    parameters=_object(
        ["cell"],
        cell=_cell("The cell's id (or its index in your last notebook_read)."),
    ),
    read_only=False,
)

FRONT_SPECS = (NOTEBOOK_READ, NOTEBOOK_EDIT, NOTEBOOK_INSERT, NOTEBOOK_DELETE)

NO_FRONT_END = (
    "No notebook front end is connected to this kernel (the collet extension of JupyterLab or "
    "Notebook 7 is absent: VS Code, nbclient, a console), so the notebook itself cannot be "
    "read or changed."
)

# Bounds of what one read shows the model.
SOURCE_CHARS = 10_000
OUTPUT_CHARS = 1_500
TOTAL_CHARS = 40_000
TIMEOUT_S = 10.0

CellRef = str | int
Sender = Callable[[dict[str, Any]], bool]
"""Sends one request to a front end; False when it could not be sent (the comm is gone)."""


class NotebookRequest(TypedDict, total=False):
    """Kernel → front end: read the notebook, or change one cell (``protocol_version`` added
    on send)."""

    type: Literal["notebook_request"]
    request_id: str
    op: Literal["read", "edit", "insert", "delete"]
    cell_id: str
    source: str
    expected: str
    after_id: str | None
    cell_type: Literal["code", "markdown"]
    message_id: str


@dataclass(frozen=True, kw_only=True)
class FrontCell:
    """One cell as the front end showed it."""

    index: int
    id: str
    cell_type: str
    source: str
    execution_count: int | None
    outputs: tuple[str, ...]

    @classmethod
    def from_wire(cls, data: Any) -> FrontCell:
        """A cell of a ``notebook_reply``.

        Raises:
            ToolError: when the front end sent something else.
        """
        if not isinstance(data, Mapping):
            raise _bad_reply("a cell is not an object")
        count = data.get("execution_count")
        outputs = data.get("outputs", [])
        fields = (data.get("id"), data.get("cell_type"), data.get("source"))
        if (
            not all(isinstance(value, str) for value in fields)
            or not isinstance(data.get("index"), int)
            or not (count is None or isinstance(count, int))
            or not isinstance(outputs, list)
            or not all(isinstance(o, Mapping) and isinstance(o.get("text"), str) for o in outputs)
        ):
            raise _bad_reply(f"a cell with missing or mistyped fields: {sorted(data)}")
        return cls(
            index=int(data["index"]),
            id=str(data["id"]),
            cell_type=str(data["cell_type"]),
            source=str(data["source"]),
            execution_count=count,
            outputs=tuple(str(o["text"]) for o in outputs),
        )

    def text(self) -> str:
        """The cell as the model reads it."""
        ran = f" · ran as [{self.execution_count}]" if self.execution_count else ""
        lines = [f"── cell {self.index} · id {self.id} · {self.cell_type}{ran} ──"]
        source = truncate_middle(self.source, SOURCE_CHARS)
        lines.append(source if source else "(empty)")
        for output in self.outputs:
            lines.append("── output ──")
            lines.append(truncate_middle(output.rstrip("\n"), OUTPUT_CHARS))
        return "\n".join(lines)


def _bad_reply(what: str) -> ToolError:
    return ToolError(f"the notebook front end sent a malformed reply ({what})", tool="notebook")


class FrontEnds:
    """The front ends connected to this kernel (one per notebook panel's comm) and the requests
    waiting for their replies. Requests go to the newest front end."""

    def __init__(self, *, timeout: float = TIMEOUT_S) -> None:
        self.timeout = timeout
        self._senders: list[Sender] = []
        self._waiting: dict[str, asyncio.Future[Mapping[str, Any]]] = {}
        self._ids = itertools.count(1)

    def add(self, sender: Sender) -> Callable[[], None]:
        """Send requests to ``sender`` from now on; returns the function that stops it."""
        self._senders.append(sender)
        return lambda: self._senders.remove(sender) if sender in self._senders else None

    @property
    def connected(self) -> bool:
        """Whether any front end is connected."""
        return bool(self._senders)

    async def ask(self, request: NotebookRequest, *, tool: str) -> Mapping[str, Any]:
        """Send ``request`` to the newest front end and wait for its reply.

        Raises:
            ToolError: no front end, no reply in time, or a reply that is not ``ok`` (its
                ``error`` is the message).
        """
        request_id = f"n{next(self._ids)}"
        future: asyncio.Future[Mapping[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        try:
            for sender in reversed(tuple(self._senders)):
                if sender({**request, "type": "notebook_request", "request_id": request_id}):
                    break
            else:
                raise ToolError(NO_FRONT_END, tool=tool)
            try:
                reply = await asyncio.wait_for(future, self.timeout)
            except TimeoutError:
                raise ToolError(
                    f"the notebook front end did not answer in {self.timeout:g} s (the page "
                    "may have been closed or reloaded); whether anything changed is unknown: "
                    "read the notebook again",
                    tool=tool,
                ) from None
        finally:
            self._waiting.pop(request_id, None)
        if reply.get("ok") is not True:
            raise ToolError(str(reply.get("error") or "the front end refused it"), tool=tool)
        return reply

    def deliver(self, reply: Mapping[str, Any]) -> bool:
        """A ``notebook_reply`` arrived; True when a request was waiting for it."""
        future = self._waiting.get(str(reply.get("request_id")))
        if future is None or future.done():
            return False
        future.set_result(reply)
        return True


class FrontNotebook:
    """The notebook tools over the front end, with what the agent last read of each cell."""

    def __init__(self, fronts: FrontEnds) -> None:
        self.fronts = fronts
        self.path = ""
        self.order: list[str] = []  # cell ids by index, as of the last read
        self.seen: dict[str, str] = {}  # cell id → its source when the agent last saw it
        self.kinds: dict[str, str] = {}  # cell id → its type (code, markdown, raw)
        self.message_id = ""  # the turn that makes the changes (marked in the cell)

    def resolve(self, ref: CellRef, *, tool: str) -> str:
        """The id of the cell ``ref`` names (an id, or an index into the last read).

        Raises:
            ToolError: when it names no cell the agent read.
        """
        if isinstance(ref, bool) or not isinstance(ref, str | int):
            raise ToolError(
                f"a cell is named by its id (a string) or index, not {ref!r}", tool=tool
            )
        if isinstance(ref, str) and ref in self.seen:
            return ref
        if not self.order:
            raise ToolError(
                "read the notebook first (notebook_read): cells are edited as you last read them",
                tool=tool,
            )
        index = int(ref) if isinstance(ref, int) or ref.strip().lstrip("-").isdigit() else None
        if index is None:
            raise ToolError(
                f"no cell has id {ref!r} in your last notebook_read; read the notebook again",
                tool=tool,
            )
        if not 0 <= index < len(self.order):
            raise ToolError(
                f"cell {index} does not exist: your last notebook_read had {len(self.order)} "
                "cells (indices from 0)",
                tool=tool,
            )
        return self.order[index]

    def where(self, cell_id: str) -> str:
        """How the model reads a cell's place: ``cell 2 (id ab12)``."""
        index = self.order.index(cell_id) if cell_id in self.order else None
        return f"cell {index} (id {cell_id})" if index is not None else f"cell {cell_id}"

    # ── the tools ──

    async def read(self, refs: list[CellRef] | None) -> str:
        """The ``notebook_read`` text."""
        reply = await self.fronts.ask({"op": "read"}, tool=NOTEBOOK_READ.name)
        cells = reply.get("cells")
        if not isinstance(cells, list):
            raise _bad_reply("no cells")
        every = [FrontCell.from_wire(cell) for cell in cells]
        self.path = str(reply.get("path") or "")
        self.order = [cell.id for cell in every]
        wanted = every
        if refs:
            ids = [self.resolve(ref, tool=NOTEBOOK_READ.name) for ref in refs]
            wanted = [cell for cell in every if cell.id in ids]
        name = self.path or "the notebook"
        shown = "" if wanted is every else f"; {len(wanted)} shown"
        head = f"{name}: {len(every)} cells, as the user sees them now (unsaved edits included)"
        head += shown
        parts = [head]
        used = len(head)
        for cell in wanted:
            text = cell.text()
            if used + len(text) > TOTAL_CHARS:
                parts.append(
                    f"[cells from {cell.index} on left out (the {TOTAL_CHARS:,}-character cap); "
                    "ask for them with `cells`]"
                )
                break
            self.seen[cell.id] = cell.source
            self.kinds[cell.id] = cell.cell_type
            parts.append(text)
            used += len(text)
        return "\n\n".join(parts)

    async def edit(self, ref: CellRef, source: str) -> str:
        """Replace one cell's source; the ``notebook_edit`` text."""
        tool = NOTEBOOK_EDIT.name
        cell_id = self.resolve(ref, tool=tool)
        expected = self.seen.get(cell_id)
        if expected is None:
            raise ToolError(
                f"you have not read {self.where(cell_id)}: read it (notebook_read) before "
                "editing it",
                tool=tool,
            )
        # Refused when the cell is no longer what the agent read: ``seen`` keeps the old
        # source, so a retry is refused too until the agent reads the cell again.
        reply = await self.fronts.ask(
            {"op": "edit", "cell_id": cell_id, "source": source, "expected": expected,
             "message_id": self.message_id},
            tool=tool,
        )  # fmt: skip
        cell = FrontCell.from_wire(reply.get("cell"))
        self.seen[cell.id] = cell.source
        return (
            f"Edited {self.where(cell.id)} in the notebook (it has not run; the user can undo "
            "it with Ctrl+Z)."
        )

    async def insert(self, after: CellRef | None, source: str, cell_type: str) -> str:
        """Insert a new cell; the ``notebook_insert`` text."""
        tool = NOTEBOOK_INSERT.name
        after_id = None if after is None else self.resolve(after, tool=tool)
        reply = await self.fronts.ask(
            {"op": "insert", "after_id": after_id, "source": source,
             "cell_type": "markdown" if cell_type == "markdown" else "code",
             "message_id": self.message_id},
            tool=tool,
        )  # fmt: skip
        cell = FrontCell.from_wire(reply.get("cell"))
        self.seen[cell.id] = cell.source
        self.kinds[cell.id] = cell.cell_type
        if after_id in self.order:
            self.order.insert(self.order.index(after_id) + 1, cell.id)
        else:
            self.order.append(cell.id)
        return (
            f"Inserted a {cell.cell_type} cell at index {cell.index} (id {cell.id}); it has not "
            "run."
        )

    async def delete(self, ref: CellRef) -> str:
        """Delete one cell; the ``notebook_delete`` text."""
        tool = NOTEBOOK_DELETE.name
        cell_id = self.resolve(ref, tool=tool)
        expected = self.seen.get(cell_id)
        if expected is None:
            raise ToolError(
                f"you have not read {self.where(cell_id)}: read it (notebook_read) before "
                "deleting it",
                tool=tool,
            )
        where = self.where(cell_id)
        reply = await self.fronts.ask(
            {"op": "delete", "cell_id": cell_id, "expected": expected,
             "message_id": self.message_id},
            tool=tool,
        )  # fmt: skip
        FrontCell.from_wire(reply.get("cell"))  # the cell as it was when it went
        self.seen.pop(cell_id, None)
        self.kinds.pop(cell_id, None)
        if cell_id in self.order:
            self.order.remove(cell_id)
        return (
            f"Deleted {where} from the notebook; the cells below it are now one index "
            "lower. The user can restore it with the notebook's undo (Z, or Ctrl+Z, in "
            "command mode)."
        )

    # ── previews ──

    def preview(self, call: ToolCall) -> Preview | None:
        """The approval's preview of an edit (the diff against what the agent read), an insert
        or a delete (the source that goes, as a diff to nothing); None for other calls."""
        arguments = parsed(call)
        if arguments is None or call.name not in (
            NOTEBOOK_EDIT.name,
            NOTEBOOK_INSERT.name,
            NOTEBOOK_DELETE.name,
        ):
            return None
        source = str(arguments.get("source", ""))
        name = self.path or "notebook"
        if call.name == NOTEBOOK_INSERT.name:
            kind = "markdown" if arguments.get("type") == "markdown" else "code"
            after = arguments.get("after")
            try:
                place = "at the end" if after is None else f"below {self._place(after, call)}"
            except ToolError:
                place = f"below cell {after!r}"
            return {
                "kind": "file_write",
                "path": f"{name}: a new {kind} cell {place}",
                "exists": False,
                "language": _language(kind),
                "size": len(source.encode("utf-8", errors="replace")),
                "content": source[:20_000],
                "truncated": len(source) > 20_000,
                "diff": "",
            }
        preview: Preview = {
            "kind": "file_edit",
            "path": name,
            "language": "python",
            "diff": "",
            "replace_all": False,
            "problem": "",
        }
        try:
            cell_id = self.resolve(arguments.get("cell", ""), tool=call.name)
        except ToolError as exc:
            preview["problem"] = str(exc)
            return preview
        deleting = call.name == NOTEBOOK_DELETE.name
        shown = f"{name} {self.where(cell_id)}"
        preview["path"] = f"{shown}, deleted" if deleting else shown
        preview["language"] = _language(self.kinds.get(cell_id, "code"))
        before = self.seen.get(cell_id)
        if before is None:
            preview["problem"] = f"you have not read {self.where(cell_id)}"
        elif deleting:  # every line of the cell goes
            preview["diff"] = unified_diff(before, "", f"{name}:{cell_id}")[:20_000]
        else:
            preview["diff"] = unified_diff(before, source, f"{name}:{cell_id}")[:20_000]
        return preview

    def _place(self, ref: Any, call: ToolCall) -> str:
        return self.where(self.resolve(ref, tool=call.name))


def _language(cell_type: str) -> str:
    return "markdown" if cell_type == "markdown" else "python"


class NotebookPreviewer:
    """A session's previewer, with the notebook tools' previews in front (``Previewer``)."""

    def __init__(self, inner: Previewer, notebook: FrontNotebook) -> None:
        self.inner = inner
        self.notebook = notebook

    def preview(self, call: ToolCall, spec: ToolSpec | None) -> Preview:
        """The notebook tools' preview of ``call``, else the inner previewer's."""
        own = self.notebook.preview(call)
        return own if own is not None else self.inner.preview(call, spec)


def cell_ref(value: Any, name: str, *, tool: str) -> CellRef:
    """A cell argument as the model sent it: an id or an index.

    Raises:
        ToolError: for anything else.
    """
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ToolError(
            f"invalid arguments for {tool}: '{name}' must be a cell id (string) or index "
            f"(integer), not {value!r}",
            tool=tool,
        )
    return value
