"""``BuiltinTools``: the file, shell and search tools behind the core's ``ToolPort``.

Every failure comes back to the model as ``ToolResult(is_error=True)`` with a message saying what
to do; only cancellation propagates.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from collet_nb.adapters.procs import ProcessRegistry
from collet_nb.adapters.tools.arguments import check_arguments
from collet_nb.adapters.tools.files import (
    FILE_EDIT,
    FILE_READ,
    FILE_WRITE,
    file_edit,
    file_read,
    file_write,
)
from collet_nb.adapters.tools.output import Limits
from collet_nb.adapters.tools.scope import Workspace
from collet_nb.adapters.tools.search import SEARCH, search_files
from collet_nb.adapters.tools.shell import BASH, run_bash
from collet_nb.core.chat import ToolCall, ToolResult, ToolSpec
from collet_nb.core.kinds import WorkspaceScope
from collet_nb.core.ports import ToolSource
from collet_nb.errors import ToolError

logger = logging.getLogger(__name__)

_Handler = Callable[[dict[str, Any]], Awaitable[str]]


class BuiltinTools(ToolSource):
    """The built-in tools: ``file_read``, ``file_write``, ``file_edit``, ``bash``, ``search``.

    A ``collet_nb.core.ports.ToolSource``. The scope can change between calls (the
    ``/workspace`` command): set :attr:`scope`, or pass a callable that returns the current one.
    """

    def __init__(
        self,
        *,
        project_dir: Path,
        scope: WorkspaceScope | Callable[[], WorkspaceScope] = WorkspaceScope.PROJECT,
        bash_timeout: float = 120.0,
        limits: Limits | None = None,
        processes: ProcessRegistry | None = None,
        kill_grace: float = 2.0,
    ) -> None:
        """Create the tools.

        Args:
            project_dir: the project directory (relative paths and ``bash`` start here).
            scope: the workspace scope, or a callable read at every call.
            bash_timeout: the default and the longest timeout of a ``bash`` call, in seconds.
            limits: caps on what the tools read and return.
            processes: the registry ``bash`` records its process groups in (a new one if None).
            kill_grace: seconds between SIGTERM and SIGKILL when a command is stopped.
        """
        if bash_timeout <= 0:
            raise ValueError(f"bash_timeout must be positive, not {bash_timeout}")
        self.project_dir = Path(project_dir)
        self._scope = scope
        self.bash_timeout = bash_timeout
        self.limits = limits if limits is not None else Limits()
        self.processes = processes if processes is not None else ProcessRegistry()
        self.kill_grace = kill_grace
        self._tools: dict[str, tuple[ToolSpec, _Handler]] = {
            FILE_READ.name: (FILE_READ, self._file_read),
            FILE_WRITE.name: (FILE_WRITE, self._file_write),
            FILE_EDIT.name: (FILE_EDIT, self._file_edit),
            BASH.name: (BASH, self._bash),
            SEARCH.name: (SEARCH, self._search),
        }

    @property
    def scope(self) -> WorkspaceScope:
        """The scope in force now."""
        return self._scope() if callable(self._scope) else self._scope

    @scope.setter
    def scope(self, value: WorkspaceScope | Callable[[], WorkspaceScope]) -> None:
        self._scope = value

    def workspace(self) -> Workspace:
        """The project directory with the scope in force now."""
        return Workspace(project_dir=self.project_dir, scope=self.scope)

    def specs(self) -> Sequence[ToolSpec]:
        """The tools to offer the model."""
        return tuple(spec for spec, _ in self._tools.values())

    async def call(self, call: ToolCall, arguments: Mapping[str, Any]) -> ToolResult:
        """Run one call; every failure is an ``is_error`` result, cancellation propagates."""
        entry = self._tools.get(call.name)
        if entry is None:
            names = ", ".join(self._tools)
            return _error(call, f"unknown tool {call.name!r}; the built-in tools are {names}")
        spec, handler = entry
        try:
            checked = check_arguments(spec, arguments)
            text = await handler(checked)
        except ToolError as exc:
            return _error(call, str(exc))
        except OSError as exc:
            return _error(call, _describe_os_error(exc, call.name))
        except Exception as exc:
            # The port promises results, not exceptions: this is the tool-call boundary.
            logger.exception("built-in tool %s failed", call.name)
            return _error(call, f"{call.name} failed unexpectedly: {type(exc).__name__}: {exc}")
        return ToolResult(call_id=call.id, name=call.name, content=text)

    async def _file_read(self, args: dict[str, Any]) -> str:
        return await asyncio.to_thread(
            file_read,
            self.workspace(),
            args["path"],
            offset=args.get("offset", 1),
            limit=args.get("limit"),
            limits=self.limits,
        )

    async def _file_write(self, args: dict[str, Any]) -> str:
        return await asyncio.to_thread(file_write, self.workspace(), args["path"], args["content"])

    async def _file_edit(self, args: dict[str, Any]) -> str:
        return await asyncio.to_thread(
            file_edit,
            self.workspace(),
            args["path"],
            args["old_string"],
            args["new_string"],
            replace_all=args.get("replace_all", False),
            limits=self.limits,
        )

    async def _bash(self, args: dict[str, Any]) -> str:
        timeout = min(float(args.get("timeout", self.bash_timeout)), self.bash_timeout)
        return await run_bash(
            args["command"],
            cwd=self.project_dir,
            timeout=timeout,
            max_timeout=self.bash_timeout,
            output_cap=self.limits.output_chars,
            processes=self.processes,
            grace=self.kill_grace,
        )

    async def _search(self, args: dict[str, Any]) -> str:
        stop = threading.Event()
        try:
            return await asyncio.to_thread(
                search_files,
                self.workspace(),
                args["pattern"],
                path=args.get("path"),
                glob=args.get("glob"),
                limits=self.limits,
                stop=stop,
            )
        finally:
            stop.set()  # a cancelled call must not leave the walk running in its thread


def _error(call: ToolCall, message: str) -> ToolResult:
    return ToolResult(call_id=call.id, name=call.name, content=message, is_error=True)


def _describe_os_error(exc: OSError, tool: str) -> str:
    where = f" {exc.filename}" if exc.filename else ""
    if exc.errno == errno.ENOENT:
        return f"no such file or directory:{where}; check the path with search or bash `ls`"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied:{where}; the user's account cannot access it"
    if exc.errno == errno.EISDIR:
        return f"{where.strip()} is a directory, not a file"
    if exc.errno == errno.ENOTDIR:
        return f"a component of{where} is a file, not a directory"
    if exc.errno == errno.ELOOP:
        return f"too many levels of symbolic links:{where}"
    reason = exc.strerror or str(exc)
    return f"{tool} failed: {reason}{':' + where if where else ''}"
