"""The notebook as the person sees it, through the front end (issue 20): ``notebook_read``,
``notebook_edit``, ``notebook_insert``, ``notebook_delete`` and ``notebook_run``.

Where the labextension is connected (JupyterLab, Notebook 7), the kernel sends a
``notebook_request`` on the ``collet`` comm and the labextension performs it on the notebook
model of its panel (``labextension/src/notebook.ts``): a change shows at once, Ctrl+Z undoes it,
and the ``.ipynb`` is never written behind the front end's back. The reply is a
``notebook_reply`` (docs/protocol.md, "The notebook through the front end").

Cells are addressed by their stable id (an index is read against the notebook as the agent last
read it, so a cell the person inserted meanwhile does not shift the target). An edit or a delete
carries the source the agent last read of its cell: the front end refuses it when the cell's
source is no longer that (the person changed it), and the model is told why. A run carries it
too: the cell runs as the agent read it (and as the approval showed it), or not at all.
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
from collet_nb.core.images import MAX_IMAGES, Image
from collet_nb.core.preview import Preview, Previewer, parsed
from collet_nb.errors import ToolError
from collet_nb.ui.notebook_run import RunWatch, refuse_agent_cell, reply_images, shown_output
from collet_nb.ui.notebook_specs import (
    NOTEBOOK_DELETE,
    NOTEBOOK_EDIT,
    NOTEBOOK_INSERT,
    NOTEBOOK_READ,
    NOTEBOOK_RUN,
)

log = logging.getLogger("collet_nb")

NO_FRONT_END = (
    "No notebook front end is connected to this kernel (the collet extension of JupyterLab or "
    "Notebook 7 is absent: VS Code, nbclient, a console), so the notebook itself cannot be "
    "read or changed."
)

# Bounds of what one read shows the model.
SOURCE_CHARS = 10_000
OUTPUT_CHARS = 1_500  # of one output
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
    op: Literal["read", "edit", "insert", "delete", "run"]
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
    output_types: tuple[str, ...] = ()  # each output's nbformat type (``error`` when it raised)
    images: tuple[Image, ...] = ()  # the pictures its outputs hold (a plot)

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
            output_types=tuple(str(o.get("output_type", "")) for o in outputs),
            images=reply_images(data.get("images"), source=f"cell {data['index']}"),
        )

    @property
    def error(self) -> str | None:
        """The first line of the error the cell's outputs hold (``NameError: …``), if any."""
        for kind, text in zip(self.output_types, self.outputs, strict=False):
            if kind == "error":
                return text.partition("\n")[0]
        return None

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

    async def ask(
        self,
        request: NotebookRequest,
        *,
        tool: str,
        timeout: float | None = None,
        late: Callable[[], str] | None = None,
    ) -> Mapping[str, Any]:
        """Send ``request`` to the newest front end and wait for its reply (``timeout``
        seconds, by default the front ends' own; ``late`` says why when it does not come).

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
            seconds = self.timeout if timeout is None else timeout
            try:
                reply = await asyncio.wait_for(future, seconds)
            except TimeoutError:
                if late is not None:
                    raise ToolError(late(), tool=tool) from None
                raise ToolError(
                    f"the notebook front end did not answer in {seconds:g} s (the page "
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

    def __init__(self, fronts: FrontEnds, watch: RunWatch | None = None) -> None:
        self.fronts = fronts
        self.watch = watch or RunWatch()
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

    async def read(self, refs: list[CellRef] | None) -> tuple[str, tuple[Image, ...]]:
        """The ``notebook_read`` text, and the pictures of the cells it shows (a plot goes to
        a model that takes images as an image)."""
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
        images: list[Image] = []
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
            images.extend(cell.images)
            used += len(text)
        return "\n\n".join(parts), tuple(images[:MAX_IMAGES])

    def _read_cell(self, ref: CellRef, *, tool: str, doing: str) -> tuple[str, str]:
        """The id of the cell ``ref`` names and its source as the agent last read it.

        Raises:
            ToolError: the agent has not read that cell (before ``doing`` it).
        """
        cell_id = self.resolve(ref, tool=tool)
        source = self.seen.get(cell_id)
        if source is None:
            raise ToolError(
                f"you have not read {self.where(cell_id)}: read it (notebook_read) before "
                f"{doing} it",
                tool=tool,
            )
        return cell_id, source

    async def edit(self, ref: CellRef, source: str) -> str:
        """Replace one cell's source; the ``notebook_edit`` text."""
        tool = NOTEBOOK_EDIT.name
        cell_id, expected = self._read_cell(ref, tool=tool, doing="editing")
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
        cell_id, expected = self._read_cell(ref, tool=tool, doing="deleting")
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

    def run_target(self, ref: CellRef) -> tuple[str, str]:
        """The id of the cell a run names and its source as the agent read it.

        Raises:
            ToolError: no such cell read, not a code cell, or a cell that sends to the agent.
        """
        tool = NOTEBOOK_RUN.name
        cell_id, source = self._read_cell(ref, tool=tool, doing="running")
        kind = self.kinds.get(cell_id, "code")
        if kind != "code":
            raise ToolError(
                f"{self.where(cell_id)} is a {kind} cell: only code cells run", tool=tool
            )
        refuse_agent_cell(source, self.where(cell_id))
        return cell_id, source

    async def run(self, ref: CellRef, timeout: float) -> tuple[str, tuple[Image, ...]]:
        """Run one cell through the front end and wait ``timeout`` seconds for it; the
        ``notebook_run`` text and the pictures it showed."""
        tool = NOTEBOOK_RUN.name
        cell_id, source = self.run_target(ref)
        where = self.where(cell_id)
        self.watch.want(cell_id)  # from now on, a wait that holds the kernel ends
        try:
            reply = await self.fronts.ask(
                {"op": "run", "cell_id": cell_id, "expected": source,
                 "message_id": self.message_id},
                tool=tool,
                timeout=timeout,
                late=lambda: self.watch.late(cell_id, where, timeout),
            )  # fmt: skip
        finally:
            self.watch.done(cell_id)
        cell = FrontCell.from_wire(reply.get("cell"))
        where = f"cell {cell.index} (id {cell.id})"
        images = reply_images(reply.get("images"), source=f"cell {cell.index}")
        if reply.get("ran") is False:
            head = (
                f"{where} did not run: the front end could not run it (no kernel, or it was "
                "interrupted or restarted)."
            )
        elif cell.error is not None:
            head = (
                f"Ran {where} as [{cell.execution_count}]: it raised {cell.error}. Its outputs "
                "are in the notebook:"
            )
        else:
            head = f"Ran {where} as [{cell.execution_count}]; its outputs are in the notebook:"
        body = [
            f"── output ──\n{shown_output(kind, text)}"
            for kind, text in zip(cell.output_types, cell.outputs, strict=False)
        ]
        return "\n".join([head, *body] if body else [head, "(no output)"]), images

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
    """A session's previewer, with the notebook tools' previews in front (``Previewer``):
    ``extra`` (the run's preview) first, then the front end's edits, then ``inner``."""

    def __init__(
        self,
        inner: Previewer,
        notebook: FrontNotebook,
        extra: Callable[[ToolCall], Preview | None] | None = None,
    ) -> None:
        self.inner = inner
        self.notebook = notebook
        self.extra = extra

    def preview(self, call: ToolCall, spec: ToolSpec | None) -> Preview:
        """The notebook tools' preview of ``call``, else the inner previewer's."""
        own = self.extra(call) if self.extra is not None else None
        if own is None:
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
