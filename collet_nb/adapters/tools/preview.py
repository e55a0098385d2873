"""Previews of the file tools, read from the workspace before the call runs: whether a write
creates or overwrites (and the diff against the current file), the diff an edit would make,
or why it will fail. Everything else falls to the core's ``GenericPreviewer``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from collet_nb.adapters.tools.files import planned_edit, read_text, unified_diff
from collet_nb.adapters.tools.output import Limits
from collet_nb.adapters.tools.scope import Workspace
from collet_nb.core.chat import ToolCall, ToolSpec
from collet_nb.core.kinds import WorkspaceScope
from collet_nb.core.preview import GenericPreviewer, Preview, args_preview, language_of, parsed
from collet_nb.errors import ToolError

# What a preview may carry of a file's content (the browser folds what is long).
CONTENT_CHARS = 20_000


class WorkspacePreviewer:
    """The preview of each tool call of one session (implements the core's ``Previewer``)."""

    def __init__(
        self,
        *,
        project_dir: Path,
        scope: Callable[[], WorkspaceScope],
        bash_timeout: float = 120.0,
        limits: Limits | None = None,
    ) -> None:
        self.project_dir = project_dir
        self.scope = scope
        self.limits = limits or Limits()
        self.generic = GenericPreviewer(cwd=str(project_dir), bash_timeout=bash_timeout)

    def preview(self, call: ToolCall, spec: ToolSpec | None) -> Preview:
        """The preview of ``call`` (never raises)."""
        arguments = parsed(call)
        if arguments is None or call.name not in ("file_write", "file_edit"):
            return self.generic.preview(call, spec)
        path = arguments.get("path")
        if not isinstance(path, str) or not path:
            return args_preview(call)
        workspace = Workspace(project_dir=self.project_dir, scope=self.scope())
        try:
            target = workspace.resolve(path, tool=call.name)
        except ToolError:  # outside the scope: the call will say so; show what it asked
            return args_preview(call)
        shown = workspace.display(target)
        if call.name == "file_write":
            return self._write(target, shown, arguments)
        return self._edit(target, shown, arguments)

    def _current(self, target: Path, shown: str) -> str | None:
        """The file's text now, or None when it is missing or not readable text."""
        try:
            return read_text(target, shown=shown, limits=self.limits, tool="preview")
        except (ToolError, OSError):
            return None

    def _write(self, target: Path, shown: str, arguments: Mapping[str, Any]) -> Preview:
        content = str(arguments.get("content", ""))
        exists = target.is_file()
        before = self._current(target, shown) if exists else None
        return {
            "kind": "file_write",
            "path": shown,
            "exists": exists,
            "language": language_of(shown),
            "size": len(content.encode("utf-8", errors="replace")),
            "content": content[:CONTENT_CHARS],
            "truncated": len(content) > CONTENT_CHARS,
            "diff": "" if before is None else unified_diff(before, content, shown)[:CONTENT_CHARS],
        }

    def _edit(self, target: Path, shown: str, arguments: Mapping[str, Any]) -> Preview:
        replace_all = bool(arguments.get("replace_all", False))
        preview: Preview = {
            "kind": "file_edit",
            "path": shown,
            "language": language_of(shown),
            "diff": "",
            "replace_all": replace_all,
            "problem": "",
        }
        try:
            before, after, _count = planned_edit(
                target,
                shown,
                str(arguments.get("old_string", "")),
                str(arguments.get("new_string", "")),
                replace_all=replace_all,
                limits=self.limits,
            )
        except ToolError as exc:
            preview["problem"] = str(exc)
        except OSError as exc:
            preview["problem"] = f"{shown} cannot be read: {exc.strerror or exc}"
        else:
            preview["diff"] = unified_diff(before, after, shown)[:CONTENT_CHARS]
        return preview
