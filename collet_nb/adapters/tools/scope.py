"""The workspace scope check: where the file tools may reach, decided on fully resolved paths.

``~``, relative paths, ``..`` and every symlink are resolved before the check, and the tools do
their I/O on the resolved path, so a link cannot lead them outside after the check passed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from collet_nb.core.kinds import WorkspaceScope
from collet_nb.errors import ScopeError, ToolError


def scope_root(project_dir: Path, scope: WorkspaceScope) -> Path | None:
    """The directory ``scope`` confines the tools to (resolved), or None for ``full``."""
    # The parent of the *resolved* project dir, so the project is always inside its workspace.
    project = Path(os.path.realpath(project_dir))
    if scope is WorkspaceScope.PROJECT:
        return project
    if scope is WorkspaceScope.WORKSPACE:
        return project.parent
    return None


def resolve_in_scope(path: str, *, project_dir: Path, scope: WorkspaceScope, tool: str) -> Path:
    """Resolve ``path`` as the model gave it and check it lies within ``scope``.

    Relative paths are taken from ``project_dir``; ``~`` is the user's home. For a path that does
    not exist yet, its deepest existing parent is resolved (so a new file under a directory
    symlink is judged by where the link points).

    Args:
        path: the path from the tool call.
        project_dir: the project directory.
        scope: the scope in force.
        tool: the tool asking (for the error).

    Returns:
        The absolute path with every symlink resolved; do the I/O on it.

    Raises:
        ScopeError: when the resolved path lies outside the scope.
        ToolError: when ``path`` cannot be a path at all (a NUL byte).
    """
    if "\0" in path:
        raise ToolError(f"path {path!r} contains a NUL byte; send a plain path", tool=tool)
    project = Path(os.path.realpath(project_dir))
    # realpath resolves each existing component, links included, and keeps the missing tail as
    # written; a dangling link resolves to its target, which is then what gets checked.
    resolved = Path(os.path.realpath(project / os.path.expanduser(path)))
    root = scope_root(project, scope)
    if root is None or resolved.is_relative_to(root):
        return resolved
    if scope is WorkspaceScope.PROJECT:
        where = f"the project directory {root}"
        wider = "`/workspace workspace` (the project's parent) or `/workspace full`"
    else:
        where = f"the workspace directory {root}"
        wider = "`/workspace full`"
    raise ScopeError(
        f"path {path!r} resolves to {resolved}, outside {where} (scope: {scope.value}); "
        f"use a path under {root}, or ask the user to run {wider}",
        tool=tool,
        path=path,
        scope=scope.value,
    )


@dataclass(frozen=True, kw_only=True)
class Workspace:
    """The project directory and the scope in force for one tool call.

    Attributes:
        project_dir: the project directory (relative paths start here).
        scope: how far the file tools may reach.
    """

    project_dir: Path
    scope: WorkspaceScope

    def resolve(self, path: str, *, tool: str) -> Path:
        """``resolve_in_scope`` for this workspace."""
        return resolve_in_scope(path, project_dir=self.project_dir, scope=self.scope, tool=tool)

    def contains(self, resolved: Path) -> bool:
        """Whether an already resolved path lies within the scope."""
        root = scope_root(self.project_dir, self.scope)
        return root is None or resolved.is_relative_to(root)

    def display(self, resolved: Path) -> str:
        """The path as shown to the model: relative to the project when inside it."""
        project = Path(os.path.realpath(self.project_dir))
        if resolved == project:
            return "."
        if resolved.is_relative_to(project):
            return str(resolved.relative_to(project))
        return str(resolved)
