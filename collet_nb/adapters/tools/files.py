"""The file tools: ``file_read`` (numbered lines), ``file_write`` and ``file_edit``.

Every path goes through the scope check first and the I/O is done on the resolved path. Text is
UTF-8; binary and oversized files are refused with a message saying what to use instead.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from collet_nb.adapters.tools.output import Limits, truncate_middle
from collet_nb.adapters.tools.scope import Workspace
from collet_nb.core.chat import ToolSpec
from collet_nb.errors import ToolError

_BINARY_PROBE = 8192

FILE_READ = ToolSpec(
    name="file_read",
    description=(
        "Read a UTF-8 text file and return its lines numbered from 1 (like `cat -n`). "
        "Relative paths start at the project directory. Reads up to 2000 lines by default: "
        "pass offset (the first line number to return) and limit to read a large file in parts. "
        "Very long lines are cut. Binary and very large files are refused."
    ),
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File to read."},
            "offset": {
                "type": "integer",
                "minimum": 1,
                "description": "First line to return (1-based). Default 1.",
            },
            "limit": {
                "type": "integer",
                "minimum": 1,
                "description": "Most lines to return. Default 2000.",
            },
        },
        "required": ["path"],
        "additionalProperties": False,
    },
    read_only=True,
)

FILE_WRITE = ToolSpec(
    name="file_write",
    description=(
        "Write content to a file as UTF-8, replacing the file if it exists and creating missing "
        "parent directories. Relative paths start at the project directory. Prefer file_edit to "
        "change part of an existing file."
    ),
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File to write."},
            "content": {"type": "string", "description": "The complete new content."},
        },
        "required": ["path", "content"],
        "additionalProperties": False,
    },
    read_only=False,
)

FILE_EDIT = ToolSpec(
    name="file_edit",
    description=(
        "Replace exact text in a file. old_string must match the file exactly, whitespace and "
        "indentation included, and must occur once unless replace_all is true (then every "
        "occurrence is replaced). Read the file first. Returns a unified diff of the change."
    ),
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File to edit."},
            "old_string": {"type": "string", "description": "The exact text to replace."},
            "new_string": {"type": "string", "description": "The text to put in its place."},
            "replace_all": {
                "type": "boolean",
                "description": "Replace every occurrence instead of exactly one. Default false.",
            },
        },
        "required": ["path", "old_string", "new_string"],
        "additionalProperties": False,
    },
    read_only=False,
)


def read_text(target: Path, *, shown: str, limits: Limits, tool: str) -> str:
    """Read a whole text file, refusing directories, binary, oversized and non-UTF-8 files.

    Raises:
        ToolError: with the reason and what to do instead.
        OSError: when the file cannot be opened or read.
    """
    if target.is_dir():
        raise ToolError(
            f"{shown} is a directory, not a file; list it with bash (`ls {shown}`) or use search",
            tool=tool,
        )
    size = target.stat().st_size
    if size > limits.file_bytes:
        raise ToolError(
            f"{shown} is {size:,} bytes, over the {limits.file_bytes:,}-byte cap of {tool}; "
            "use search to find the lines you need, or bash (e.g. `sed -n '100,200p' FILE`)",
            tool=tool,
        )
    data = target.read_bytes()
    if b"\0" in data[:_BINARY_PROBE]:
        raise ToolError(
            f"{shown} looks binary (a NUL byte in its first 8 KiB); {tool} handles text only: "
            "inspect it with bash (e.g. `file FILE` or `xxd FILE | head`)",
            tool=tool,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ToolError(
            f"{shown} is not UTF-8 text (byte {exc.start} cannot be decoded); {tool} handles "
            "UTF-8 only: convert it with bash (e.g. `iconv -f latin1 -t utf-8`)",
            tool=tool,
        ) from None


def file_read(
    workspace: Workspace, path: str, *, offset: int = 1, limit: int | None, limits: Limits
) -> str:
    """Return lines ``offset`` … ``offset + limit - 1`` of a text file, numbered like ``cat -n``.

    Raises:
        ScopeError: when the path lies outside the scope.
        ToolError: for directories, binary, oversized or non-UTF-8 files, or an offset past
            the end.
        OSError: when the file cannot be read.
    """
    target = workspace.resolve(path, tool="file_read")
    shown = workspace.display(target)
    text = read_text(target, shown=shown, limits=limits, tool="file_read")
    if not text:
        return f"({shown} is empty)"
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()  # a final newline ends the last line, it does not start another
    total = len(lines)
    if offset > total:
        raise ToolError(
            f"offset {offset} is past the end of {shown}, which has {total} lines",
            tool="file_read",
        )
    count = limit if limit is not None else limits.read_lines
    end = min(total, offset + count - 1)
    numbered = []
    for number in range(offset, end + 1):
        line = _cut_line(lines[number - 1].removesuffix("\r"), limits.line_chars)
        numbered.append(f"{number:>6}\t{line}")
    if end < total:
        numbered.append(
            f"[lines {offset}–{end} of {total} shown; pass offset={end + 1} to read on]"
        )
    return "\n".join(numbered)


def _cut_line(line: str, cap: int) -> str:
    if len(line) <= cap:
        return line
    return f"{line[:cap]} … [{len(line) - cap:,} more characters on this line]"


def file_write(workspace: Workspace, path: str, content: str) -> str:
    """Write ``content`` to the file, creating parent directories.

    Raises:
        ScopeError: when the path lies outside the scope.
        ToolError: when the path is a directory.
        OSError: when the file cannot be written.
    """
    target = workspace.resolve(path, tool="file_write")
    shown = workspace.display(target)
    if target.is_dir():
        raise ToolError(
            f"{shown} is a directory; give the path of a file inside it", tool="file_write"
        )
    previous = target.stat().st_size if target.exists() else None
    for ancestor in target.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise ToolError(
                    f"{workspace.display(ancestor)} is a file, so {shown} cannot be created "
                    "under it; choose another path",
                    tool="file_write",
                )
            break
    # Parents are created under the resolved path, which the scope check has vetted.
    target.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8")
    target.write_bytes(data)
    what = "new file" if previous is None else f"replaced {previous:,} bytes"
    return f"wrote {len(data):,} bytes to {shown} ({what})"


def file_edit(
    workspace: Workspace,
    path: str,
    old_string: str,
    new_string: str,
    *,
    replace_all: bool = False,
    limits: Limits,
) -> str:
    """Replace ``old_string`` by ``new_string`` and return a summary line and a unified diff.

    Raises:
        ScopeError: when the path lies outside the scope.
        ToolError: when ``old_string`` is empty, missing, not unique (without ``replace_all``)
            or equal to ``new_string``, or the file is not editable text.
        OSError: when the file cannot be read or written.
    """
    tool = "file_edit"
    target = workspace.resolve(path, tool=tool)
    shown = workspace.display(target)
    before, after, count = planned_edit(
        target, shown, old_string, new_string, replace_all=replace_all, limits=limits
    )
    target.write_bytes(after.encode("utf-8"))
    diff = unified_diff(before, after, shown)
    noun = "occurrence" if count == 1 else "occurrences"
    return f"replaced {count} {noun} in {shown}\n\n{truncate_middle(diff, limits.output_chars)}"


def unified_diff(before: str, after: str, shown: str) -> str:
    """The unified diff of a file's text, ``a/`` and ``b/`` named after ``shown``."""
    return "\n".join(
        difflib.unified_diff(
            before.splitlines(),
            after.splitlines(),
            fromfile=f"a/{shown}",
            tofile=f"b/{shown}",
            lineterm="",
        )
    )


def planned_edit(
    target: Path,
    shown: str,
    old_string: str,
    new_string: str,
    *,
    replace_all: bool,
    limits: Limits,
) -> tuple[str, str, int]:
    """What ``file_edit`` would do, without writing: (before, after, occurrences replaced).

    Raises:
        ToolError: when ``old_string`` is empty, missing, not unique (without ``replace_all``)
            or equal to ``new_string``, or the file is missing or not editable text.
        OSError: when the file cannot be read.
    """
    tool = "file_edit"
    if not old_string:
        raise ToolError(
            "old_string is empty; give the exact text to replace, or use file_write to create "
            "or overwrite a whole file",
            tool=tool,
        )
    if old_string == new_string:
        raise ToolError("old_string and new_string are the same: nothing to change", tool=tool)
    if not target.exists():
        raise ToolError(
            f"{shown} does not exist; use file_write to create it, or search to find the file",
            tool=tool,
        )
    before = read_text(target, shown=shown, limits=limits, tool=tool)
    count = before.count(old_string)
    if count == 0:
        raise ToolError(
            f"old_string was not found in {shown}; read the file with file_read and copy the "
            "text exactly, whitespace and indentation included",
            tool=tool,
        )
    if count > 1 and not replace_all:
        raise ToolError(
            f"old_string occurs {count} times in {shown}; include more surrounding lines to make "
            "it unique, or pass replace_all=true to replace every occurrence",
            tool=tool,
        )
    return before, before.replace(old_string, new_string), count
