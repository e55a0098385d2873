"""Top-level ``%collet`` lines run as awaited calls, so a wait never nests the kernel's loop.

``/wait``, ``--wait`` and ``/mcp restart`` must block their cell while the agent's task runs on
the same loop. A nested loop (nest-asyncio) did that by running the loop re-entrantly, and
with it the kernel's own dispatch of the next queued request: under Run All that request's
task re-entered a context already entered and died, and every later cell hung.

IPython already knows how to block a cell without nesting: a cell with a top-level ``await``
is awaited by ipykernel on its own loop (6.29 and 7.x), and the next request waits for its
reply. So a post-input transformer turns each ``get_ipython().run_line_magic('collet', …)``
(or ``run_cell_magic``) statement that IPython made from a top-level magic into

    await __import__("collet_nb.ui.autoawait", fromlist=["*"]).awaited(lambda: <that call>)

The lambda keeps IPython's own magic call (``{var}`` expansion and all); :func:`awaited`
runs it with the magic told to hand back, not block on, whatever needs the loop.

It applies only where IPython awaits the cell on the running loop: autoawait on with the
asyncio runner, a running loop, and no cell executing already (``%%capture`` or ``%%time``
transform their body inside a running cell, where an ``await`` cannot be run).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

ENTRY = '__import__("collet_nb.ui.autoawait", fromlist=["*"]).awaited'
MAGIC_CALLS = ("run_line_magic", "run_cell_magic")
# Code that cannot hold an ``await`` even at the top level of a cell.
_OPAQUE = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _is_collet_call(node: ast.stmt) -> bool:
    """Whether ``node`` is the statement IPython makes of a ``%collet`` / ``%%collet``."""
    if not isinstance(node, ast.Expr) or not isinstance(node.value, ast.Call):
        return False
    call = node.value
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr in MAGIC_CALLS
        and isinstance(func.value, ast.Call)
        and isinstance(func.value.func, ast.Name)
        and func.value.func.id == "get_ipython"
        and bool(call.args)
        and isinstance(call.args[0], ast.Constant)
        and call.args[0].value == "collet"
    )


def _collet_statements(tree: ast.Module) -> list[ast.stmt]:
    """The ``%collet`` statements an ``await`` may replace: at the top level, or in blocks
    (if, for, while, with, try, match) that are not inside a function, class or lambda."""
    found: list[ast.stmt] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, _OPAQUE):
                continue
            if isinstance(child, ast.stmt) and _is_collet_call(child):
                found.append(child)
            else:
                visit(child)

    visit(tree)
    return found


def rewrite(source: str) -> str:
    """``source`` (Python, after IPython's transforms) with each awaitable ``%collet`` statement
    made an awaited call; unchanged when there is none or the code does not parse."""
    if "'collet'" not in source and '"collet"' not in source:
        return source  # the common cell, decided without parsing
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return source  # IPython reports it when it compiles the cell
    lines = source.splitlines(keepends=True)
    # Bottom-up, so the line numbers of the statements not yet rewritten stay valid.
    for stmt in reversed(_collet_statements(tree)):
        first, last = stmt.lineno - 1, (stmt.end_lineno or stmt.lineno) - 1
        head, tail = lines[first], lines[last]
        # IPython writes a magic's call on lines of its own: keep anything else untouched.
        prefix = head.encode()[: stmt.col_offset].decode(errors="replace")
        suffix = tail.encode()[stmt.end_col_offset or 0 :].decode(errors="replace")
        if prefix.strip() or suffix.strip():
            continue
        assert isinstance(stmt, ast.Expr)  # what _is_collet_call found
        call = ast.get_source_segment(source, stmt.value)
        if call is None:
            continue
        lines[first : last + 1] = [f"{prefix}await {ENTRY}(lambda: {call})\n"]
    return "".join(lines)


class AwaitTransformer:
    """The post-input transformer of one shell, and the cell depth it must watch."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.depth = 0  # cells executing now (nested: %%capture and friends run cells)

    def __call__(self, lines: list[str]) -> list[str]:
        if self.depth or not self._awaits_on_running_loop():
            return lines
        source = "".join(lines)
        new = rewrite(source)
        return lines if new is source else new.splitlines(keepends=True)

    def _awaits_on_running_loop(self) -> bool:
        """Whether IPython runs a cell with a top-level ``await`` on the running loop (as
        ipykernel does), rather than on a loop of its own or not at all."""
        from IPython.core.interactiveshell import (  # type: ignore[attr-defined]  # private
            _asyncio_runner,
        )

        if not getattr(self.shell, "autoawait", False):
            return False
        if getattr(self.shell, "loop_runner", None) is not _asyncio_runner:
            return False
        try:
            return asyncio.get_event_loop_policy().get_event_loop().is_running()
        except RuntimeError:
            return False

    def _enter(self, *_args: object) -> None:
        self.depth += 1

    def _leave(self, *_args: object) -> None:
        self.depth = max(0, self.depth - 1)

    def install(self) -> None:
        """Join the shell's post-input transformers and follow its cells (idempotent)."""
        if self in self.shell.input_transformers_post:
            return
        self.shell.input_transformers_post.append(self)
        self.shell.events.register("pre_execute", self._enter)
        self.shell.events.register("post_execute", self._leave)

    def uninstall(self) -> None:
        """Undo :meth:`install`."""
        if self in self.shell.input_transformers_post:
            self.shell.input_transformers_post.remove(self)
        for event, callback in (("pre_execute", self._enter), ("post_execute", self._leave)):
            with contextlib.suppress(ValueError):  # never registered
                self.shell.events.unregister(event, callback)


async def _nothing() -> None:
    return None


def awaited(call: Callable[[], object]) -> Awaitable[None]:
    """Run a ``%collet`` magic ``call`` now; return what must be awaited for it (its wait).

    What the transformed cell awaits. Without a loaded extension the call just runs.
    """
    from collet_nb.ui.extension import active

    extension = active()
    if extension is None or extension.magics is None:
        call()
        return _nothing()
    return extension.magics.awaitable(call)
