"""What a tool call will do, said before it runs: the ``preview`` of ``tool_call`` and
``approval_requested`` events (see docs/protocol.md), so a person judges the call, not its JSON.

Pure: the previews that need no file (bash, MCP tools, anything else) are built here; the file
tools' previews, which read the current file, live in ``adapters/tools/preview.py``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from collet_nb.core.chat import ToolCall, ToolSpec
from collet_nb.core.sampling import sampling_summary

Preview = dict[str, Any]

# File extensions → the names highlight.js knows (the browser highlights by this).
LANGUAGES = {
    ".py": "python", ".pyi": "python", ".ipynb": "json", ".json": "json", ".js": "javascript",
    ".mjs": "javascript", ".ts": "typescript", ".tsx": "typescript", ".md": "markdown",
    ".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".sh": "bash", ".bash": "bash",
    ".diff": "diff", ".patch": "diff", ".css": "css", ".html": "xml", ".xml": "xml",
    ".sql": "sql", ".rs": "rust", ".go": "go", ".c": "c", ".h": "c", ".cpp": "cpp",
    ".java": "java", ".r": "r", ".txt": "plaintext",
}  # fmt: skip
MCP_PREFIX = "mcp__"


class Previewer(Protocol):
    """Says what a tool call will do (never raises: a preview it cannot make is ``args``)."""

    def preview(self, call: ToolCall, spec: ToolSpec | None) -> Preview:
        """The preview of ``call``."""
        ...


def language_of(path: str) -> str:
    """The highlighting language of a file, from its extension (``plaintext`` if unknown)."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = name.rpartition(".")
    return LANGUAGES.get(f".{suffix.lower()}", "plaintext") if dot and stem else "plaintext"


def parsed(call: ToolCall) -> Mapping[str, Any] | None:
    """The call's arguments as an object, or None when they are not a JSON object."""
    try:
        value = json.loads(call.arguments or "{}")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def args_preview(call: ToolCall) -> Preview:
    """The arguments as they are: an object, or the raw text when it does not parse."""
    arguments = parsed(call)
    return {"kind": "args", "arguments": call.arguments if arguments is None else arguments}


def mcp_preview(call: ToolCall, spec: ToolSpec | None, arguments: Mapping[str, Any]) -> Preview:
    """An MCP tool: its server, its own name, whether it is read-only, its arguments."""
    server, _, tool = call.name.removeprefix(MCP_PREFIX).partition("__")
    return {
        "kind": "mcp",
        "server": server,
        "tool": tool,
        "read_only": bool(spec and spec.read_only),
        "arguments": dict(arguments),
    }


def bash_preview(arguments: Mapping[str, Any], *, cwd: str, default_timeout: float) -> Preview:
    """A shell command: the command, where it starts, how long it may run."""
    timeout = arguments.get("timeout")
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        timeout = default_timeout
    return {
        "kind": "bash",
        "command": str(arguments.get("command", "")),
        "cwd": cwd,
        "timeout": float(timeout),
    }


class GenericPreviewer:
    """The previews that need no file: bash, MCP tools, and ``args`` for everything else."""

    def __init__(self, *, cwd: str, bash_timeout: float = 120.0) -> None:
        self.cwd = cwd
        self.bash_timeout = bash_timeout

    def preview(self, call: ToolCall, spec: ToolSpec | None) -> Preview:
        """The preview of ``call``."""
        arguments = parsed(call)
        if arguments is None:
            return args_preview(call)
        if call.name.startswith(MCP_PREFIX):
            return mcp_preview(call, spec, arguments)
        if call.name == "bash":
            return bash_preview(arguments, cwd=self.cwd, default_timeout=self.bash_timeout)
        return args_preview(call)


def _diff_counts(diff: str) -> str:
    lines = diff.splitlines()[2:]  # past the --- / +++ header
    added = sum(1 for line in lines if line.startswith("+"))
    removed = sum(1 for line in lines if line.startswith("-"))
    return f"+{added} −{removed}"


def _file_summary(preview: Preview) -> str:
    kind = preview.get("kind")
    if kind == "file_write":
        if preview.get("exists"):
            return f"overwrites {preview.get('path')} ({_diff_counts(str(preview.get('diff')))})"
        return f"creates {preview.get('path')} ({preview.get('size', 0):,} bytes)"
    if kind == "file_edit":
        if preview.get("problem"):
            return f"edits {preview.get('path')} (will fail: {preview['problem']})"
        return f"edits {preview.get('path')} ({_diff_counts(str(preview.get('diff')))})"
    return ""


def _run_summary(preview: Preview) -> str:
    if preview.get("problem"):
        return f"runs {preview.get('path')} (will fail: {preview['problem']})"
    warnings = "; ".join(str(w) for w in preview.get("warnings") or ())
    return f"runs {preview.get('path')}" + (f" ({warnings})" if warnings else "")


def summary(preview: Preview, fallback: str = "") -> str:
    """One line saying what a call will do (for text views and the ``/wait`` line)."""
    kind = preview.get("kind")
    if kind in ("file_write", "file_edit"):
        return _file_summary(preview)
    if kind == "bash":
        command = str(preview.get("command", "")).replace("\n", " ⏎ ")
        return f"runs `{command[:120]}` in {preview.get('cwd')}"
    if kind == "mcp":
        ro = ", read-only" if preview.get("read_only") else ""
        return f"calls {preview.get('tool')} on MCP server {preview.get('server')}{ro}"
    if kind == "sampling":
        return sampling_summary(preview)
    if kind == "notebook_run":
        return _run_summary(preview)
    text = fallback or json.dumps(preview.get("arguments", ""), ensure_ascii=False)
    return text if len(text) <= 120 else text[:119] + "…"
