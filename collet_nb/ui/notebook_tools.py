"""``NotebookTools``: the tools that see the notebook (``kernel_vars``, ``notebook_cells``) and the
one that proposes code to it (``propose_cell``), over the IPython shell this kernel runs; and
the tools that read, change and run the notebook through its front end (``notebook_read``,
``notebook_edit``, ``notebook_insert``, ``notebook_delete``, ``notebook_run``:
``collet_nb.ui.notebook_front``), which fall back where no front end is connected: to the
kernel's history, to proposals (``collet_nb.ui.proposals``), to running a proposal in the
kernel with its output captured (``collet_nb.ui.notebook_run``); a delete is refused there.

Reading runs no user code (see ``collet_nb.adapters.summaries``). A proposal never runs unless
the agent runs it with ``notebook_run``, which asks the user first (as ``bash`` does).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from collet_nb.adapters.summaries import (
    SummaryLimits,
    cut,
    is_listed,
    summarize,
    summarize_variables,
)
from collet_nb.adapters.tools.arguments import check_arguments
from collet_nb.adapters.tools.output import truncate_middle
from collet_nb.adapters.tools.toolbox import Toolbox
from collet_nb.core.cellcheck import CellCheck, check_cell
from collet_nb.core.chat import ToolCall, ToolResult, ToolSpec
from collet_nb.core.images import Image
from collet_nb.core.ports import ToolSource
from collet_nb.core.preview import Preview, parsed
from collet_nb.errors import ToolError
from collet_nb.ui.cell_images import CellImages
from collet_nb.ui.notebook_fallback import Fallback
from collet_nb.ui.notebook_front import FrontEnds, FrontNotebook, NotebookPreviewer, cell_ref
from collet_nb.ui.notebook_run import RunWatch, wait_seconds
from collet_nb.ui.notebook_specs import (
    FRONT_SPECS,
    NOTEBOOK_DELETE,
    NOTEBOOK_EDIT,
    NOTEBOOK_INSERT,
    NOTEBOOK_READ,
    NOTEBOOK_RUN,
)
from collet_nb.ui.proposals import Proposal, Proposals, SidebarSender

if TYPE_CHECKING:
    from collet_nb.core.kinds import ChannelId
    from collet_nb.runtime.runner import SessionRunner

log = logging.getLogger("collet_nb")

KERNEL_VARS = ToolSpec(
    name="kernel_vars",
    description=(
        "Summaries of the variables in the user's notebook kernel: type, length or shape, "
        "dtypes and the first rows of DataFrames, the first items of containers. Without "
        "`names`, every variable (private names, modules and IPython's own are left out); "
        "with `names`, just those. Values are never evaluated beyond that."
    ),
    parameters={
        "type": "object",
        "properties": {
            "names": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Variable names to summarize (default: all of them).",
            }
        },
        "additionalProperties": False,
    },
    read_only=True,
)

NOTEBOOK_CELLS = ToolSpec(
    name="notebook_cells",
    description=(
        "The most recent cells this kernel ran, oldest first: each input with its execution "
        "count, printed output, result text and error with the end of its traceback."
    ),
    parameters={
        "type": "object",
        "properties": {
            "last": {
                "type": "integer",
                "minimum": 1,
                "description": "How many recent cells (default 10, at most 50).",
            }
        },
        "additionalProperties": False,
    },
    read_only=True,
)

PROPOSE_CELL = ToolSpec(
    name="propose_cell",
    description=(
        "Propose Python code as a new notebook cell for the user to read and run; you cannot "
        "run code in the kernel yourself. The result lists the existing variables the code "
        "would overwrite or delete. It has not run when the result comes back: running it is "
        "the user's decision. Code that does not parse is refused."
    ),
    parameters={
        "type": "object",
        "properties": {"code": {"type": "string", "description": "The cell's code."}},
        "required": ["code"],
        "additionalProperties": False,
    },
    read_only=False,
)

_SPECS = (KERNEL_VARS, NOTEBOOK_CELLS, PROPOSE_CELL, *FRONT_SPECS)

PROMPT_SECTION = (
    "You work beside the user's live notebook kernel. `kernel_vars` summarizes their variables "
    "and `notebook_cells` shows the cells they ran (with outputs and errors): look before you "
    "guess. `notebook_read` shows the notebook as the user sees it (every cell, with its id); "
    "`notebook_edit`, `notebook_insert` and `notebook_delete` change it, and `notebook_run` "
    "runs a cell and returns its outputs, each with the user's approval. Or propose code with "
    "`propose_cell`, for the user to run."
)

# IPython's own names in the user namespace: the output cache (_, __, _5), the input cache
# (_i, _ii, _i5), its histories (_ih, _oh, _dh) and module dunders.
_IPYTHON_NAME = re.compile(r"_+|_i+|_i?\d+|_[iod]h|__\w+__")
_BODY_IN_USER_NS = re.compile(r"%%(time|capture)(\s.*)?")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_WIDGET = "application/vnd.jupyter.widget-view+json"


@dataclass(frozen=True, kw_only=True)
class CellLimits:
    """Caps on what ``notebook_cells`` returns.

    Attributes:
        default_cells: cells returned when the model gives no ``last``.
        max_cells: the most cells one call returns.
        input_chars: characters of one cell's input.
        output_chars: characters of one output (a stream, a result, a display).
        traceback_lines: lines kept from the end of an error's traceback.
        total_chars: characters of the whole answer (older cells go first).
    """

    default_cells: int = 10
    max_cells: int = 50
    input_chars: int = 2000
    output_chars: int = 1500
    traceback_lines: int = 8
    total_chars: int = 8000


class NotebookTools(ToolSource):
    """The notebook tools of one IPython shell, shared by every session of the kernel.

    A ``ToolSource`` (``begin_turn`` and ``prompt_section`` of its hooks do something).
    :meth:`install` hooks the shell's ``post_run_cell`` event that delivers proposals and the
    cell events that tell which cell the kernel runs; :meth:`attach` adds these tools to a
    session's toolbox (give it to ``SessionHub.on_runner``).

    Args:
        shell: the ``InteractiveShell`` (``get_ipython()``).
        summaries: caps of ``kernel_vars`` and variable mentions.
        cells: caps of ``notebook_cells`` and cell mentions.
        max_pending: proposals that may wait for delivery at once.
        images: what each cell showed (the extension records it from load on); else
            recorded from :meth:`install` on.
    """

    def __init__(
        self,
        shell: Any,
        *,
        summaries: SummaryLimits | None = None,
        cells: CellLimits | None = None,
        max_pending: int = 5,
        images: CellImages | None = None,
    ) -> None:
        self.shell = shell
        self.summaries = summaries or SummaryLimits()
        self.limits = cells or CellLimits()
        self.proposals = Proposals(shell, check=self.check, max_pending=max_pending)
        self._installed = False
        self.fronts = FrontEnds()
        self.watch = RunWatch()  # the cells a run waits for the kernel to run
        self.front = FrontNotebook(self.fronts, self.watch)
        self.fallback = Fallback(
            shell, self.proposals, history=self.cells, proposed=self._propose_result
        )
        self.images = images or CellImages(shell)
        # How long a run may wait: the session's tool timeout (attach reads it).
        self.tool_timeout: Callable[[], float] = lambda: 120.0

    # ── wiring ──

    def install(self) -> None:
        """Deliver waiting proposals after each cell the user runs (idempotent)."""
        if not self._installed:
            self.shell.events.register("post_run_cell", self.proposals.deliver)
            self.shell.events.register("pre_run_cell", self.watch.on_pre_run_cell)
            self.shell.events.register("post_run_cell", self.watch.on_post_run_cell)
            self.images.install()
            self._installed = True

    def uninstall(self) -> None:
        """Undo :meth:`install` and drop waiting proposals."""
        if self._installed:
            self.shell.events.unregister("post_run_cell", self.proposals.deliver)
            self.shell.events.unregister("pre_run_cell", self.watch.on_pre_run_cell)
            self.shell.events.unregister("post_run_cell", self.watch.on_post_run_cell)
            self.images.uninstall()
            self._installed = False
        self.proposals.clear()

    def attach(self, _channel: ChannelId, runner: SessionRunner) -> None:
        """Add these tools to ``runner``'s toolbox, once (a ``SessionHub.on_runner`` listener)."""
        tools = runner.tools
        if isinstance(tools, Toolbox) and tools.find(NotebookTools) is None:
            tools.add(self)
        if not isinstance(runner.previewer, NotebookPreviewer):
            runner.previewer = NotebookPreviewer(runner.previewer, self.front, self.own_preview)
        self.tool_timeout = lambda: float(runner.settings.tool_timeout)

    def add_sidebar(self, sender: SidebarSender) -> Callable[[], None]:
        """Offer every new proposal to ``sender`` too; returns the function that stops it."""
        return self.proposals.add_sidebar(sender)

    # ── ToolPort ──

    def specs(self) -> Sequence[ToolSpec]:
        """``kernel_vars``, ``notebook_cells``, ``propose_cell`` and the notebook's tools."""
        return _SPECS

    def begin_turn(self, message_id: str) -> None:
        """Changes made from now on are marked as made by ``message_id``."""
        self.front.message_id = message_id

    def prompt_section(self) -> str:
        """What the system prompt says about these tools."""
        return PROMPT_SECTION

    async def call(self, call: ToolCall, arguments: Mapping[str, Any]) -> ToolResult:
        """Run one call; every failure is an ``is_error`` result."""
        try:
            if call.name == KERNEL_VARS.name:
                check_arguments(KERNEL_VARS, arguments)
                text = self.variables(_names(arguments.get("names")))
            elif call.name == NOTEBOOK_CELLS.name:
                text = self.cells(check_arguments(NOTEBOOK_CELLS, arguments).get("last"))
            elif call.name == PROPOSE_CELL.name:
                text = self._propose_result(
                    self.propose(check_arguments(PROPOSE_CELL, arguments)["code"])
                )
            elif call.name == NOTEBOOK_RUN.name:
                text, images = await self._run(arguments)
                return ToolResult(call_id=call.id, name=call.name, content=text, images=images)
            elif call.name == NOTEBOOK_READ.name:
                text, images = await self._read(arguments)
                return ToolResult(call_id=call.id, name=call.name, content=text, images=images)
            elif call.name in (
                NOTEBOOK_EDIT.name,
                NOTEBOOK_INSERT.name,
                NOTEBOOK_DELETE.name,
            ):
                text = await self._notebook(call.name, arguments)
            else:
                raise ToolError(
                    f"unknown tool {call.name!r}; the notebook tools are "
                    f"{', '.join(s.name for s in _SPECS)}",
                    tool=call.name,
                )
        except ToolError as exc:
            return ToolResult(call_id=call.id, name=call.name, content=str(exc), is_error=True)
        except Exception as exc:  # the port promises results: this is the tool-call boundary
            log.exception("notebook tool %s failed", call.name)
            return ToolResult(
                call_id=call.id,
                name=call.name,
                content=f"{call.name} failed unexpectedly: {type(exc).__name__}: {exc}",
                is_error=True,
            )
        return ToolResult(call_id=call.id, name=call.name, content=text)

    # ── the notebook: through its front end, else the fallback ──

    async def _read(self, arguments: Mapping[str, Any]) -> tuple[str, tuple[Image, ...]]:
        """``notebook_read``: through the front end (with the pictures of the cells shown), else
        the kernel's history."""
        args = check_arguments(NOTEBOOK_READ, arguments)
        refs = [cell_ref(r, "cells", tool=NOTEBOOK_READ.name) for r in args.get("cells") or ()]
        if self.fronts.connected:
            return await self.front.read(refs or None)
        return self.fallback.read(), ()

    async def _notebook(self, name: str, arguments: Mapping[str, Any]) -> str:
        """``notebook_read``, ``notebook_edit``, ``notebook_insert`` or ``notebook_delete``:
        through the front end when one is connected, else the fallback (the kernel's history, a
        proposal, a refusal)."""
        front = self.front if self.fronts.connected else None
        if name == NOTEBOOK_EDIT.name:
            args = check_arguments(NOTEBOOK_EDIT, arguments)
            ref = cell_ref(args["cell"], "cell", tool=name)
            if front is None:
                return self.fallback.edit(ref, args["source"])
            return await front.edit(ref, args["source"])
        if name == NOTEBOOK_DELETE.name:
            ref = cell_ref(check_arguments(NOTEBOOK_DELETE, arguments)["cell"], "cell", tool=name)
            return await front.delete(ref) if front else self.fallback.delete()
        args = check_arguments(NOTEBOOK_INSERT, arguments)
        after = args.get("after")
        after = None if after is None else cell_ref(after, "after", tool=name)
        cell_type = str(args.get("type") or "code")
        if front is None:
            return self.fallback.insert(args["source"], cell_type)
        return await front.insert(after, args["source"], cell_type)

    async def _run(self, arguments: Mapping[str, Any]) -> tuple[str, tuple[Image, ...]]:
        """``notebook_run``: through the front end, else a proposal run in the kernel."""
        args = check_arguments(NOTEBOOK_RUN, arguments)
        ref = cell_ref(args["cell"], "cell", tool=NOTEBOOK_RUN.name)
        if self.fronts.connected:
            timeout = wait_seconds(args.get("timeout"), self.tool_timeout())
            return await self.front.run(ref, timeout)
        return await self.fallback.run(ref)

    def own_preview(self, call: ToolCall) -> Preview | None:
        """The previews these tools make beyond the front end's: a run's, and without a front
        end an edit of a proposal (the diff against its code); None for other calls."""
        if not self.fronts.connected and call.name in (NOTEBOOK_EDIT.name, NOTEBOOK_INSERT.name):
            arguments = parsed(call) or {}
            source = str(arguments.get("source", ""))
            if call.name == NOTEBOOK_INSERT.name:
                return self.fallback.insert_preview(source, str(arguments.get("type") or "code"))
            cell = arguments.get("cell")
            return self.fallback.edit_preview(cell, source) if isinstance(cell, str) else None
        return self.run_preview(call)

    def run_preview(self, call: ToolCall) -> Preview | None:
        """The approval's preview of a ``notebook_run``: the code that will run, the names it
        would overwrite (as for ``propose_cell``), how long the run waits; None for other
        calls."""
        if call.name != NOTEBOOK_RUN.name:
            return None
        arguments = parsed(call) or {}
        timeout = wait_seconds(arguments.get("timeout"), self.tool_timeout())
        preview: Preview = {"kind": "notebook_run", "path": "", "code": "", "language": "python",
                            "warnings": [], "timeout": timeout, "problem": ""}  # fmt: skip
        try:
            ref = cell_ref(arguments.get("cell"), "cell", tool=call.name)
            if self.fronts.connected:
                cell_id, code = self.front.run_target(ref)
                preview["path"] = f"{self.front.path or 'notebook'} {self.front.where(cell_id)}"
            else:
                code = self.fallback.run_target(ref).code
                preview["path"] = self.fallback.where(ref)
                preview["timeout"] = 0  # it runs in the turn itself, not waited for
        except ToolError as exc:
            preview["problem"] = str(exc)
            return preview
        preview["code"] = code[:20_000]
        preview["warnings"] = list(self.check(code).warnings())
        return preview

    # ── variables ──

    @property
    def namespace(self) -> dict[str, Any]:
        """The user's namespace."""
        namespace: dict[str, Any] = self.shell.user_ns
        return namespace

    def _ipython_owns(self, name: str, value: object) -> bool:
        hidden: dict[str, Any] = getattr(self.shell, "user_ns_hidden", {})
        # Hidden while it still holds IPython's value: a user who rebinds `In` owns it.
        missing = object()
        return hidden.get(name, missing) is value or bool(_IPYTHON_NAME.fullmatch(name))

    def variable_names(self) -> list[str]:
        """The variables ``kernel_vars`` lists by default, in definition order."""
        return [
            name
            for name, value in list(self.namespace.items())
            if is_listed(name, value) and not self._ipython_owns(name, value)
        ]

    def existing_names(self) -> set[str]:
        """Every name a proposed cell could clobber (modules and private names included)."""
        return {
            name
            for name, value in list(self.namespace.items())
            if not self._ipython_owns(name, value)
        }

    def variables(self, names: Sequence[str] | None = None) -> str:
        """The ``kernel_vars`` text for ``names`` (None or empty: every listed variable)."""
        wanted = list(dict.fromkeys(names)) if names else self.variable_names()
        if not wanted:
            return (
                "no variables are defined yet (private names, modules and IPython's own are "
                "not listed)"
            )
        return summarize_variables(self.namespace, wanted, self.summaries)

    def summary(self, name: str) -> str | None:
        """One variable's summary, or None when it is not defined."""
        if name not in self.namespace:
            return None
        return summarize(self.namespace[name], self.summaries)

    # ── cells ──

    def last_count(self) -> int:
        """The execution count of the latest cell in the history (0 before any)."""
        return len(self.shell.history_manager.input_hist_raw) - 1

    def cell(self, number: int) -> str | None:
        """The text of cell ``number`` (input, outputs, error), or None when there is none."""
        if not 1 <= number <= self.last_count():
            return None
        return self._cell_text(number)

    def cell_images(self, number: int) -> tuple[Image, ...]:
        """The images (plots) cell ``number`` showed, for a model that takes images."""
        return self.images.images(number)

    def cells(self, last: int | None = None) -> str:
        """The ``notebook_cells`` text: the ``last`` most recent cells, oldest first."""
        limits = self.limits
        wanted = min(last or limits.default_cells, limits.max_cells)
        newest = self.last_count()
        if newest == 0:
            return "no cells have run in this kernel yet"
        parts: list[str] = []
        used = 0
        first = max(1, newest - wanted + 1)
        for number in range(newest, first - 1, -1):
            text = self._cell_text(number)
            if parts and used + len(text) > limits.total_chars:
                parts.append(
                    f"[cells {first}–{number} left out (the {limits.total_chars:,}-character "
                    "cap); ask for fewer with `last`]"
                )
                break
            parts.append(text)
            used += len(text)
        return "\n\n".join(reversed(parts))

    def _cell_text(self, number: int) -> str:
        limits = self.limits
        history = self.shell.history_manager
        source = str(history.input_hist_raw[number]).rstrip("\n")
        lines = [f"In [{number}]:", truncate_middle(source, limits.input_chars)]
        outputs = getattr(history, "outputs", None)
        if outputs is None:  # IPython before 9 keeps no output text: summarize the result
            if number in history.output_hist:
                lines += [f"Out [{number}]:", summarize(history.output_hist[number])]
        else:
            for output in outputs.get(number, ()):
                lines.extend(self._output_lines(number, output.output_type, output.bundle))
        error = getattr(history, "exceptions", {}).get(number)
        if error is not None:
            lines.append(
                f"Error [{number}]: {error.get('ename')}: {cut(str(error.get('evalue')), 300)}"
            )
            trace = _ANSI.sub("", "\n".join(map(str, error.get("traceback", ())))).splitlines()
            lines.extend(trace[-limits.traceback_lines :])
        return "\n".join(lines)

    def _output_lines(self, number: int, kind: str, bundle: Mapping[str, Any]) -> list[str]:
        def text_of(value: Any) -> str:
            return "".join(value) if isinstance(value, list) else str(value)

        if kind in ("out_stream", "err_stream"):
            label = "stdout" if kind == "out_stream" else "stderr"
            body = text_of(bundle.get("stream", ""))
        elif _WIDGET in bundle:
            return [f"Display [{number}]: (a widget)"]
        elif "text/plain" in bundle:
            label = "Out" if kind == "execute_result" else "Display"
            body = text_of(bundle["text/plain"])
        else:
            kinds = ", ".join(sorted(bundle)) or "nothing"
            return [f"Display [{number}]: ({kinds}; no text)"]
        return [
            f"{label} [{number}]:",
            truncate_middle(body.rstrip("\n"), self.limits.output_chars),
        ]

    # ── proposals ──

    @property
    def pending(self) -> tuple[Proposal, ...]:
        """Proposals waiting for the next cell the user runs, oldest first."""
        return self.proposals.pending

    @property
    def max_pending(self) -> int:
        """Proposals that may wait for delivery at once."""
        return self.proposals.max_pending

    def check(self, code: str) -> CellCheck:
        """What ``code`` would do to the existing variables (magics transformed first)."""
        first, newline, body = code.partition("\n")
        if _BODY_IN_USER_NS.fullmatch(first.strip()):
            # These cell magics run their body in the user's namespace: check the body (a
            # blank first line keeps the line numbers of syntax errors right).
            code = newline + body
        try:
            python = str(self.shell.transform_cell(code))
        except Exception:  # IPython could not transform it: let the parser say what is wrong
            python = code
        return check_cell(python, self.existing_names())

    def propose(self, code: str) -> Proposal:
        """Put ``code`` in front of the user as a new cell (``Proposals.propose``).

        Raises:
            ToolError: when the code does not parse, is empty, or too many proposals wait.
        """
        return self.proposals.propose(code)

    def _propose_result(self, proposal: Proposal) -> str:
        where = (
            "below the next cell that finishes running"
            if proposal in self.proposals.pending
            else "in the notebook by the collet sidebar"
        )
        lines = [
            f"Proposed as cell {proposal.id}; it appears {where}. It has NOT run: the user "
            "decides whether to run it, so do not assume its effects (check later with "
            "kernel_vars or notebook_cells)."
        ]
        lines.extend(line[0].upper() + line[1:] for line in proposal.warnings)
        if proposal.check.new_names:
            lines.append(f"Would define: {', '.join(proposal.check.new_names)}")
        return "\n".join(lines)


def _names(value: Any) -> list[str] | None:
    """``names`` as the model sent it: a list of strings, or one string of names."""
    if value is None:
        return None
    if isinstance(value, str):
        return [part for part in re.split(r"[\s,]+", value) if part]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise ToolError(
        "invalid arguments for kernel_vars: 'names' must be an array of strings, e.g. "
        '{"names": ["df", "model"]}',
        tool=KERNEL_VARS.name,
    )
