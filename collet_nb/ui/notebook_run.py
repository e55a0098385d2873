"""``notebook_run``: run one notebook cell as if the person ran it, wait for it, and give its
outputs and error to the model (issue 20).

Through the front end (``notebook_front``), the front end runs the cell with JupyterLab's own
action, so its ``execute_request`` joins the kernel's queue like any cell the person runs and
its outputs land in the notebook. The agent runs as a background task, so the kernel is free
to run that request while the tool waits for it, with one exception: a cell that waits for the
agent (``/wait``, ``--wait``: a top-level ``await`` on the kernel's loop) holds the kernel's
shell, and the request would wait behind it forever. :class:`RunWatch` is how such a wait
learns that the agent needs the kernel: :func:`settle_or_yield` ends it then, and the queued
cell runs. A run that still has not finished when its time is up says whether it is running
or still queued behind another cell.

Without a front end (nbclient, VS Code) :func:`run_in_kernel` runs a cell the agent proposed
in the kernel itself, from the agent's task, with its output captured for the message's view
(the notebook does not show it).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import io
import linecache
import re
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from collet_nb.adapters.tools.output import truncate_middle
from collet_nb.core.images import MAX_IMAGES, Image, image_of
from collet_nb.errors import ToolError
from collet_nb.ui.notebook_specs import NOTEBOOK_RUN

T = TypeVar("T")

DEFAULT_WAIT_S = 60.0
# A run gives up this long before the loop's own tool timeout, so its message is the one read.
MARGIN_S = 2.0
OUTPUT_CHARS = 1_500  # of one output, for the model
TRACE_LINES = 12  # the end of a traceback the model reads
_COLLET_MAGIC = re.compile(r"^\s*%%?collet\b", re.MULTILINE)


def talks_to_the_agent(source: str) -> bool:
    """Whether a cell sends to the agent itself (``%collet`` / ``%%collet``): running it from a
    turn would wait for that very turn."""
    return bool(_COLLET_MAGIC.search(source))


def refuse_agent_cell(source: str, where: str) -> None:
    """Raise when ``source`` is a cell the agent must not run.

    Raises:
        ToolError: the cell uses ``%collet`` (it would wait for the turn that runs it).
    """
    if talks_to_the_agent(source):
        raise ToolError(
            f"{where} sends to the agent itself (%collet): running it from your turn would "
            "wait for your own turn; nothing was run",
            tool=NOTEBOOK_RUN.name,
        )


def wait_seconds(requested: Any, limit: float) -> float:
    """How long a run waits: the model's ``timeout`` (default 60 s), within ``limit``."""
    ceiling = max(1.0, limit - MARGIN_S)
    if isinstance(requested, bool) or not isinstance(requested, int | float) or requested <= 0:
        requested = DEFAULT_WAIT_S
    return float(min(requested, ceiling))


# ── the kernel, as the front end's runs need it ──


class RunWatch:
    """The cells the agent asked a front end to run, and what the kernel runs now.

    A cell is *wanted* from the request until the kernel has run it (its ``post_run_cell``,
    matched by the cell id JupyterLab sends with it) or the front end answered. Waits end while
    any cell is wanted (:func:`settle_or_yield`). ``pre_run_cell`` / ``post_run_cell`` say which
    cell the kernel runs and since when, so a run that times out can say why.

    Args:
        clock: seconds, monotonic (a test passes its own).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._wanted: dict[str, float] = {}  # cell id → when the agent asked for it
        self._started: dict[str, float] = {}  # wanted cell id → when the kernel started it
        self._running: tuple[str, float] | None = None  # (cell id or "", since)
        self._changed = asyncio.Event()

    @property
    def wanted(self) -> tuple[str, ...]:
        """The ids of the cells the agent waits for the kernel to run, oldest first."""
        return tuple(self._wanted)

    def want(self, cell_id: str) -> None:
        """The agent asked the front end to run ``cell_id``."""
        self._wanted[cell_id] = self.clock()
        self._started.pop(cell_id, None)
        self._changed.set()

    def done(self, cell_id: str) -> None:
        """The run of ``cell_id`` ended as far as the agent is concerned (answered, timed out)."""
        self._wanted.pop(cell_id, None)
        self._started.pop(cell_id, None)

    async def until_wanted(self) -> None:
        """Return once some cell is wanted (at once if one is)."""
        while not self._wanted:
            self._changed.clear()
            await self._changed.wait()

    def on_pre_run_cell(self, info: Any = None) -> None:
        """IPython's ``pre_run_cell``: the kernel starts a cell."""
        cell_id = str(getattr(info, "cell_id", None) or "")
        now = self.clock()
        self._running = (cell_id, now)
        if cell_id in self._wanted:
            self._started[cell_id] = now

    def on_post_run_cell(self, result: Any = None) -> None:
        """IPython's ``post_run_cell``: the kernel finished a cell (a wanted one is no longer
        wanted: its reply is on its way)."""
        info = getattr(result, "info", None)
        cell_id = str(getattr(info, "cell_id", None) or "")
        self._running = None
        if cell_id and cell_id in self._wanted:
            self._wanted.pop(cell_id, None)

    def late(self, cell_id: str, where: str, waited: float) -> str:
        """Why the run of ``cell_id`` has not ended after ``waited`` seconds."""
        now = self.clock()
        later = (
            "its outputs land in the notebook when it ends: read them then with notebook_read, "
            "and do not run it again meanwhile"
        )
        started = self._started.get(cell_id)
        if started is not None:
            return (
                f"{where} has run for {now - started:.0f} s and has not finished after the "
                f"{waited:g} s you waited; it goes on in the kernel ({later})"
            )
        busy = ""
        if self._running is not None:
            busy = f" (it has been running for {now - self._running[1]:.0f} s)"
        return (
            f"{where} has not started after {waited:g} s: the kernel is busy with another "
            f"cell{busy} and runs one cell at a time. It runs when that one ends ({later})"
        )


async def settle_or_yield(waiting: Awaitable[T], watch: RunWatch) -> T | None:
    """``waiting``'s result, or None as soon as the agent waits for the kernel to run a cell.

    A cell that waits for the agent holds the kernel's shell: a cell the agent asked to run
    queues behind it, so the wait must end for the run (and the turn) to go on.
    """
    task = asyncio.ensure_future(waiting)
    wanted = asyncio.ensure_future(watch.until_wanted())
    try:
        await asyncio.wait({task, wanted}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (task, wanted):
            if not pending.done():
                pending.cancel()
    if task.done() and not task.cancelled():
        return task.result()  # raises what the wait raised (a timeout)
    return None


def yield_line(watch: RunWatch) -> str:
    """What a wait that ended for a run prints."""
    cells = ", ".join(watch.wanted) or "a cell"
    return (
        f"the agent is running a cell in this kernel (id {cells}): this wait ends so the "
        "kernel can run it; `%collet /wait` waits again"
    )


# ── what a run through the front end shows the model ──


def shown_output(kind: str, text: str) -> str:
    """One output of a run through the front end as the model reads it: an error as its line
    and a short traceback, anything else cut in the middle."""
    if kind == "error":
        first, _, trace = text.rstrip().partition("\n")
        return "\n".join([first, *_short_traceback(trace)])
    return truncate_middle(text.rstrip(), OUTPUT_CHARS)


def _short_traceback(trace: str) -> list[str]:
    """IPython's traceback of a cell (every frame with its context) cut to what the model
    needs: the lines of the cell that ran (``Cell In[5], line 4`` and its ``---->`` line), how
    many frames ran inside libraries, and the error; the end of it when it has no such line."""
    lines = trace.splitlines()
    heads = [i for i, line in enumerate(lines) if "Traceback (most recent call last)" in line]
    last = lines[heads[-1] + 1 :] if heads else lines  # the error, not what it came from
    kept: list[str] = []
    inside, in_cell = 0, False
    for line in last:
        if line.startswith("Cell In["):
            if inside:
                kept.append(f"… {inside} frame(s) inside libraries")
                inside = 0
            kept.append(line)
            in_cell = True
        elif line.startswith("File "):
            inside += 1
            in_cell = False
        elif in_cell and line.lstrip().startswith("---->"):
            kept.append(line)
    if not any(line.startswith("Cell In[") for line in kept):
        return lines[-TRACE_LINES:]
    if inside:
        kept.append(f"… {inside} frame(s) inside libraries")
    ending = next((line for line in reversed(last) if line.strip()), "")
    return [*kept, ending]


def reply_images(value: Any, *, source: str) -> tuple[Image, ...]:
    """The pictures of a run's reply (``images: [{mime, data}]``), at most ``MAX_IMAGES``."""
    found = []
    for item in value if isinstance(value, list) else ():
        if isinstance(item, Mapping):
            image = image_of(str(item.get("mime", "")), item.get("data"), source=source)
            if image is not None:
                found.append(image)
    return tuple(found[:MAX_IMAGES])


# ── without a front end: run in the kernel, output captured ──


@dataclass(frozen=True, kw_only=True)
class KernelRun:
    """What a cell run in the kernel by the agent showed.

    Attributes:
        outputs: each output as text (``stdout: …``, ``Out: …``, ``[image/png]``), in order.
        images: its pictures (a plot), for a model that takes images.
        error: ``NameError: name 'x' is not defined``, or None when it did not raise.
        traceback: the end of the traceback when it raised (plain text).
    """

    outputs: tuple[str, ...] = ()
    images: tuple[Image, ...] = ()
    error: str | None = None
    traceback: str = ""

    def text(self) -> str:
        """Outputs and error, as the model reads them."""
        parts: list[str] = []
        for output in self.outputs:
            parts += ["── output ──", truncate_middle(output.rstrip("\n"), OUTPUT_CHARS)]
        if self.error is not None:
            parts += ["── error ──", self.traceback or self.error]
        if not parts:
            parts.append("(no output)")
        return "\n".join(parts)


class _Publisher:
    """Collects what the code displays (``display()``), in place of the shell's publisher."""

    def __init__(self, sink: list[tuple[str, dict[str, Any]]]) -> None:
        self.sink = sink
        self.is_publishing = False

    def publish(self, data: dict[str, Any], metadata: Any = None, **_kwargs: Any) -> None:
        self.sink.append(("display", dict(data)))

    def clear_output(self, wait: bool = False) -> None:
        """Nothing to clear: what was shown stays in the result."""


async def run_in_kernel(shell: Any, code: str, *, source: str) -> KernelRun:
    """Run ``code`` in ``shell``'s namespace from the agent's task, capturing its output.

    Magics are transformed as IPython does; the value of a last expression is the result;
    figures it opened are rendered as PNG and closed (so they do not show in the next cell);
    nothing enters the kernel's history or execution count. Synchronous code blocks the loop
    while it runs, as any cell does.
    """
    filename = f"<collet {source}>"
    try:
        python = str(shell.transform_cell(code))
    except Exception as exc:  # IPython could not transform it: show why, run nothing
        return KernelRun(error=f"{type(exc).__name__}: {exc}")
    try:
        tree = ast.parse(python, filename)
    except SyntaxError as exc:
        return KernelRun(error=f"SyntaxError: {exc.msg} (line {exc.lineno})")
    linecache.cache[filename] = (len(python), None, python.splitlines(keepends=True), filename)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    assert last is None or isinstance(last, ast.Expr)  # for the type checker
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    body = compile(tree, filename, "exec", flags=flags)
    tail = (
        None if last is None else compile(ast.Expression(last.value), filename, "eval", flags=flags)
    )
    shown: list[tuple[str, dict[str, Any]]] = []
    out, err = io.StringIO(), io.StringIO()
    figures = _figure_numbers()
    publisher, shell.display_pub = shell.display_pub, _Publisher(shown)
    error: BaseException | None = None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                value = await _evaluate(body, shell.user_ns)
                if tail is not None:
                    value = await _evaluate(tail, shell.user_ns)
                    if value is not None:
                        data, _meta = shell.display_formatter.format(value)
                        shown.append(("result", dict(data)))
            except (Exception, KeyboardInterrupt, SystemExit) as exc:  # the cell's own error
                error = exc
            shown.extend(("display", figure) for figure in _new_figures(figures))
    finally:
        shell.display_pub = publisher
    return _outcome(out.getvalue(), err.getvalue(), shown, error, source=source, file=filename)


async def _evaluate(code: Any, namespace: dict[str, Any]) -> Any:
    value = eval(code, namespace)
    if inspect.iscoroutine(value):
        value = await value
    return value


def _figure_numbers() -> set[int]:
    pyplot = sys.modules.get("matplotlib.pyplot")
    return set(pyplot.get_fignums()) if pyplot is not None else set()


def _new_figures(before: set[int]) -> list[dict[str, Any]]:
    """The figures opened since ``before``, as PNG bundles; each is closed."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return []
    import base64

    bundles = []
    for number in sorted(set(pyplot.get_fignums()) - before):
        figure = pyplot.figure(number)
        buffer = io.BytesIO()
        try:
            figure.savefig(buffer, format="png", bbox_inches="tight")
        finally:
            pyplot.close(figure)
        png = base64.b64encode(buffer.getvalue()).decode("ascii")
        bundles.append({"text/plain": repr(figure), "image/png": png})
    return bundles


def _outcome(
    stdout: str,
    stderr: str,
    shown: list[tuple[str, dict[str, Any]]],
    error: BaseException | None,
    *,
    source: str,
    file: str,
) -> KernelRun:
    outputs: list[str] = []
    images: list[Image] = []
    if stdout:
        outputs.append(f"stdout: {stdout}")
    for kind, data in shown:
        image = next(
            (image_of(m, data[m], source=source) for m in data if m.startswith("image/")), None
        )
        if image is not None and len(images) < MAX_IMAGES:
            images.append(image)
        text = "".join(data.get("text/plain", ""))
        label = "Out: " if kind == "result" else ""
        kinds = ", ".join(m for m in data if m != "text/plain")
        also = f" (also {kinds})" if kinds else ""
        outputs.append(f"{label}{text}{also}" if text else f"[{kinds or 'nothing'}]")
    if stderr:
        outputs.append(f"stderr: {stderr}")
    if error is None:
        return KernelRun(outputs=tuple(outputs), images=tuple(images))
    return KernelRun(
        outputs=tuple(outputs),
        images=tuple(images),
        error=f"{type(error).__name__}: {error}",
        traceback=_traceback(error, file),
    )


def _traceback(error: BaseException, filename: str) -> str:
    """The traceback of ``error`` as the model reads it: the cell's own frames with their lines,
    how many frames ran inside libraries, and the error (not what it was raised from)."""
    frames = traceback.extract_tb(error.__traceback__)
    lines = ["Traceback (most recent call last):"]
    inside = 0
    for frame in frames:
        if frame.filename != filename:
            inside += frame.filename != __file__  # our own frames are not the cell's
            continue
        if inside:
            lines.append(f"  … {inside} frame(s) inside libraries")
            inside = 0
        lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}')
        if frame.line:
            lines.append(f"    {frame.line}")
    if inside:
        lines.append(f"  … {inside} frame(s) inside libraries")
    lines.extend(traceback.format_exception_only(type(error), error)[-1:])
    return "\n".join(line.rstrip("\n") for line in lines[-TRACE_LINES:])
