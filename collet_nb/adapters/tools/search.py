"""The ``search`` tool: a Python regex over the text files under a directory, capped results.

Skips tool and VCS directories, binary and oversized files, files matched by simple patterns of
the project's root ``.gitignore``, and symlinks that lead outside the scope.
"""

from __future__ import annotations

import fnmatch
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from collet_nb.adapters.tools.output import Limits
from collet_nb.adapters.tools.scope import Workspace
from collet_nb.core.chat import ToolSpec
from collet_nb.errors import ToolError

SEARCH = ToolSpec(
    name="search",
    description=(
        "Search file contents with a Python regular expression (use (?i) for case-insensitive) "
        "and return matching lines as `path:line: text`. Searches the project directory unless "
        "path names another directory or a file; glob filters file names (e.g. '*.py', or "
        "'src/*.py' to match paths). Skips .git, node_modules, .venv, __pycache__, binary files "
        "and what the project's .gitignore lists. Returns at most 200 matches."
    ),
    parameters={
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "Python regular expression."},
            "path": {
                "type": "string",
                "description": "Directory or file to search. Default: the project directory.",
            },
            "glob": {
                "type": "string",
                "description": "Only files whose name (or path, if it has a '/') matches.",
            },
        },
        "required": ["pattern"],
        "additionalProperties": False,
    },
    read_only=True,
)

SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".ipynb_checkpoints",
    }
)
_BINARY_PROBE = 8192
_MATCH_CHARS = 300


@dataclass(frozen=True, kw_only=True)
class IgnoreRule:
    """One simple ``.gitignore`` line.

    Attributes:
        pattern: the fnmatch pattern.
        anchored: matched against the path from the project root (the line had a ``/`` before
            its end), else against the name at any depth.
        dir_only: the line ended with ``/``.
    """

    pattern: str
    anchored: bool
    dir_only: bool

    def matches(self, relative: str, *, is_dir: bool) -> bool:
        """Whether the rule ignores ``relative`` (a ``/``-separated path from the root)."""
        if self.dir_only and not is_dir:
            return False
        target = relative if self.anchored else relative.rsplit("/", 1)[-1]
        return fnmatch.fnmatchcase(target, self.pattern)


def load_gitignore(root: Path) -> tuple[IgnoreRule, ...]:
    """Parse the simple lines of ``root/.gitignore`` (negations are not supported: skipped)."""
    try:
        text = (root / ".gitignore").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    rules: list[IgnoreRule] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "!")):
            continue
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        while line.startswith("**/"):
            line = line[3:]  # "**/x" matches x at any depth, as a bare name does
        anchored = "/" in line
        line = line.lstrip("/")
        if line:
            rules.append(IgnoreRule(pattern=line, anchored=anchored, dir_only=dir_only))
    return tuple(rules)


def search_files(
    workspace: Workspace,
    pattern: str,
    *,
    path: str | None = None,
    glob: str | None = None,
    limits: Limits,
    stop: threading.Event | None = None,
) -> str:
    """Return the lines matching ``pattern`` as ``path:line: text``, at most the cap.

    Blocking: run it in a thread. Setting ``stop`` ends the walk early.

    Raises:
        ScopeError: when ``path`` lies outside the scope.
        ToolError: for an invalid regex or a missing path.
    """
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise ToolError(
            f"invalid regular expression {pattern!r}: {exc}; escape special characters "
            "(e.g. `\\(`) or use re syntax",
            tool="search",
        ) from None
    base = workspace.resolve(path if path is not None else ".", tool="search")
    if not base.exists():
        raise ToolError(
            f"{workspace.display(base)} does not exist; search the project directory "
            "(omit path) or list directories with bash",
            tool="search",
        )
    walk = _Walk(workspace=workspace, base=base, glob=glob, limits=limits, stop=stop)
    matches = walk.run(regex)
    shown = workspace.display(base)
    if not matches:
        files = f"{walk.files_read} text files" + (f" matching {glob!r}" if glob else "")
        return f"no matches for {pattern!r} in {files} under {shown}"
    if walk.capped:
        matches.append(
            f"[first {limits.search_matches} matches shown; narrow the pattern, path or glob]"
        )
    return "\n".join(matches)


class _Walk:
    """One search's walk over the files, with its counters."""

    def __init__(
        self,
        *,
        workspace: Workspace,
        base: Path,
        glob: str | None,
        limits: Limits,
        stop: threading.Event | None,
    ) -> None:
        self._workspace = workspace
        self._base = base
        self._glob = glob
        self._limits = limits
        self._stop = stop
        self._project = Path(os.path.realpath(workspace.project_dir))
        self._rules = load_gitignore(self._project)
        self.files_read = 0
        self.capped = False

    def run(self, regex: re.Pattern[str]) -> list[str]:
        matches: list[str] = []
        for file in self._files():
            if self._stop is not None and self._stop.is_set():
                break
            text = self._read(file)
            if text is None:
                continue
            self.files_read += 1
            shown = self._workspace.display(file)
            for number, line in enumerate(text.split("\n"), start=1):
                if regex.search(line):
                    if len(matches) >= self._limits.search_matches:
                        self.capped = True
                        return matches
                    text_line = _cut(line.removesuffix("\r"))
                    matches.append(f"{shown}:{number}: {text_line}")
        return matches

    def _files(self) -> Iterator[Path]:
        if self._base.is_file():
            yield self._base
            return
        # Symlinked directories are not followed (os.walk's default): no loops, no escapes.
        for directory, dirnames, filenames in os.walk(self._base):
            here = Path(directory)
            dirnames[:] = sorted(
                d for d in dirnames if d not in SKIPPED_DIRS and not self._ignored(here / d, True)
            )
            for name in sorted(filenames):
                file = here / name
                if self._wanted(file) and not self._ignored(file, False):
                    yield file

    def _wanted(self, file: Path) -> bool:
        if self._glob is None:
            return True
        if "/" in self._glob:
            relative = file.relative_to(self._base).as_posix()
            return fnmatch.fnmatchcase(relative, self._glob)
        return fnmatch.fnmatchcase(file.name, self._glob)

    def _ignored(self, path: Path, is_dir: bool) -> bool:
        if not self._rules or not path.is_relative_to(self._project):
            return False
        relative = path.relative_to(self._project).as_posix()
        return any(rule.matches(relative, is_dir=is_dir) for rule in self._rules)

    def _read(self, file: Path) -> str | None:
        """The file's text, or None when it is skipped (escaping link, binary, too big)."""
        try:
            if file.is_symlink():
                real = Path(os.path.realpath(file))
                if not self._workspace.contains(real):
                    return None
                file = real
            if not file.is_file() or file.stat().st_size > self._limits.file_bytes:
                return None
            data = file.read_bytes()
        except OSError:
            return None  # unreadable or gone: a search skips it rather than failing
        if b"\0" in data[:_BINARY_PROBE]:
            return None
        return data.decode("utf-8", "replace")


def _cut(line: str) -> str:
    return line if len(line) <= _MATCH_CHARS else f"{line[:_MATCH_CHARS]} …"
