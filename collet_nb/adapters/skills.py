"""Skills on disk: discovery of SKILL.md folders into a ``SkillCatalog``, and the ``skill`` tool.

Discovery never raises for a bad skill: it is skipped, logged and kept as a problem. The tool
reads only inside a skill's own folder (every symlink and ``..`` resolved before the check).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collet_nb.adapters.tools.arguments import check_arguments
from collet_nb.core.chat import ToolCall, ToolResult, ToolSpec
from collet_nb.core.ports import ToolSource
from collet_nb.core.skills import Skill, SkillProblem, parse_skill, skills_prompt
from collet_nb.errors import ToolError

logger = logging.getLogger(__name__)

SKILL_FILE = "SKILL.md"
MAX_FILE_BYTES = 256 * 1024
"""The largest SKILL.md discovery reads, and the largest file the ``skill`` tool returns."""
MAX_LISTED_FILES = 100

SKILL_TOOL = ToolSpec(
    name="skill",
    description=(
        "Load an Agent Skill from the <available_skills> list of the system prompt. When a task "
        "matches a skill's description, call this with just `name` before you start: it returns "
        "the skill's instructions and the files in its folder. When the instructions point to "
        "one of those files, call it again with `file` set to that path (relative to the skill's "
        "folder, as listed) to read it. To run a script of the skill, use its absolute path "
        "under the folder the result shows."
    ),
    parameters={
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "The skill's name, exactly as listed."},
            "file": {
                "type": "string",
                "description": (
                    "A file of the skill, relative to its folder (e.g. references/REFERENCE.md). "
                    "Leave it out to load the skill's instructions."
                ),
            },
        },
        "required": ["name"],
        "additionalProperties": False,
    },
    read_only=True,
)


def skill_roots(project_dir: Path, home: Path) -> tuple[Path, ...]:
    """The folders searched for skills, the one that wins a duplicated name first."""
    return (
        project_dir / ".collet" / "skills",
        project_dir / ".claude" / "skills",
        home / "skills",
    )


@dataclass(frozen=True, kw_only=True)
class SkillCatalog:
    """The skills found, the ones skipped, and where they were looked for.

    Attributes:
        skills: the valid skills, in the order found (root by root, names sorted).
        problems: the SKILL.md files skipped, and the copies shadowed by a same-named skill.
        roots: the folders searched, in order of precedence.
    """

    skills: tuple[Skill, ...] = ()
    problems: tuple[SkillProblem, ...] = ()
    roots: tuple[Path, ...] = ()
    _by_name: Mapping[str, Skill] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {skill.name: skill for skill in self.skills})

    def get(self, name: str) -> Skill | None:
        """The skill called ``name``, or None."""
        return self._by_name.get(name)

    def names(self) -> tuple[str, ...]:
        """The skills' names, sorted."""
        return tuple(sorted(self._by_name))

    def prompt(self) -> str:
        """The level-1 block for the system prompt (``""`` when there are no skills)."""
        return skills_prompt(self.skills)

    def describe(self) -> str:
        """The text of the ``/skills`` command: each skill, then each skipped file and why."""
        lines: list[str] = []
        if self.skills:
            lines.append(f"Skills ({len(self.skills)}):")
            lines.extend(
                f"  {skill.name} — {_first_sentence(skill.description)} ({skill.location})"
                for skill in sorted(self.skills, key=lambda s: s.name)
            )
        else:
            where = ", ".join(str(root / "NAME" / SKILL_FILE) for root in self.roots)
            lines.append(f"No skills found. Add one as {where or 'NAME/SKILL.md'}.")
        if self.problems:
            lines.append(f"Skipped ({len(self.problems)}):")
            lines.extend(f"  {problem.file}: {problem.rule}" for problem in self.problems)
        return "\n".join(lines)


def discover_skills(project_dir: Path, home: Path) -> SkillCatalog:
    """Find the skills of a project and of the user.

    Looks in ``<project>/.collet/skills``, ``<project>/.claude/skills`` and ``<home>/skills``
    for ``NAME/SKILL.md``; for a name found twice the first folder wins. Blocking (a few small
    reads): call it off the event loop when that matters.

    Args:
        project_dir: the project directory.
        home: collet's home (``$COLLET_HOME``, by default ``~/.collet``).

    Returns:
        The catalog; invalid or unreadable skills are in its ``problems`` and logged as warnings.
    """
    roots = skill_roots(Path(project_dir), Path(home))
    skills: dict[str, Skill] = {}
    problems: list[SkillProblem] = []
    for folder in _skill_folders(roots):
        location = folder / SKILL_FILE
        outcome = _load(folder, location)
        if isinstance(outcome, SkillProblem):
            logger.warning("skipped skill %s: %s", outcome.file, outcome.rule)
            problems.append(outcome)
            continue
        winner = skills.get(outcome.name)
        if winner is not None:
            # Shadowing is how a project overrides a user's skill: worth a note, not a warning.
            logger.info("skill %s is shadowed by %s", outcome.location, winner.location)
            problems.append(
                SkillProblem(
                    file=outcome.location,
                    rule=f"shadowed by the skill of the same name at {winner.location}",
                    field="name",
                )
            )
            continue
        skills[outcome.name] = outcome
    return SkillCatalog(skills=tuple(skills.values()), problems=tuple(problems), roots=roots)


def _skill_folders(roots: Sequence[Path]) -> Iterator[Path]:
    for root in roots:
        try:
            entries = sorted(root.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            logger.warning("cannot list skills folder %s: %s", root, exc.strerror or exc)
            continue
        for entry in entries:
            if not entry.name.startswith(".") and entry.is_dir():
                yield entry


def _load(folder: Path, location: Path) -> Skill | SkillProblem:
    text = _read_text(location, cap=MAX_FILE_BYTES)
    if isinstance(text, _Refusal):
        reason = text.reason
        if text.missing:
            reason = f"the folder has no {SKILL_FILE}; add one, or move the folder out"
        return SkillProblem(file=str(location), rule=reason, field="file")
    return parse_skill(text, folder=folder.name, location=str(location))


@dataclass(frozen=True, kw_only=True)
class _Refusal:
    """Why a file's text was not read.

    Attributes:
        reason: what is wrong, in words.
        missing: whether the file does not exist.
    """

    reason: str
    missing: bool = False


def _read_text(path: Path, *, cap: int) -> str | _Refusal:
    """Read a regular UTF-8 text file of at most ``cap`` bytes.

    Returns:
        The text, or the ``_Refusal`` saying why not (missing, not a regular file, too large,
        binary, not UTF-8, unreadable).
    """
    data = _read_bytes(path, cap)
    if isinstance(data, _Refusal):
        return data
    if b"\0" in data:
        return _Refusal(reason=f"{path} is a binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _Refusal(
            reason=f"{path} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}); save it as UTF-8"
        )


def _read_bytes(path: Path, cap: int) -> bytes | _Refusal:
    try:
        refusal = _refuse_kind(path, path.stat(), cap)
        if refusal is not None:
            return refusal
        with path.open("rb") as handle:
            data = handle.read(cap + 1)
    except FileNotFoundError:
        return _Refusal(reason=f"{path} does not exist", missing=True)
    except OSError as exc:
        return _Refusal(reason=f"{path} cannot be read: {exc.strerror or exc}")
    if len(data) > cap:
        return _Refusal(reason=f"{path} grew past the {cap:,}-byte cap for skill files")
    return data


def _refuse_kind(path: Path, info: os.stat_result, cap: int) -> _Refusal | None:
    if stat.S_ISDIR(info.st_mode):
        return _Refusal(reason=f"{path} is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or a device would block or never end.
        return _Refusal(reason=f"{path} is not a regular file")
    if info.st_size > cap:
        return _Refusal(
            reason=f"{path} has {info.st_size:,} bytes, over the {cap:,}-byte cap for skill "
            "files; split it into smaller files"
        )
    return None


class SkillTools(ToolSource):
    """The read-only ``skill`` tool over a catalog: levels 2 (instructions) and 3 (files).

    A ``collet_nb.core.ports.ToolSource``. It offers no tool while the catalog is empty.
    The catalog may be replaced between calls (after a rediscovery): set :attr:`catalog`, or pass
    a callable that returns the current one.
    """

    def __init__(
        self,
        catalog: SkillCatalog | Callable[[], SkillCatalog],
        *,
        file_bytes: int = MAX_FILE_BYTES,
        listed_files: int = MAX_LISTED_FILES,
        discover: Callable[[], SkillCatalog] | None = None,
    ) -> None:
        """Create the tool.

        Args:
            catalog: the skills, or a callable read at every call.
            file_bytes: the largest file a level-3 read returns.
            listed_files: how many of a skill's files the level-2 answer lists.
            discover: finds the skills again; :meth:`prepare` calls it before each turn, so a
                skill added while the notebook runs is there for the next message.
        """
        if file_bytes < 1 or listed_files < 1:
            raise ValueError(f"caps must be at least 1, not {file_bytes} and {listed_files}")
        self._catalog = catalog
        self.file_bytes = file_bytes
        self.listed_files = listed_files
        self._discover = discover
        self._reported: set[tuple[str, str]] = set()

    async def prepare(self) -> list[str]:
        """Rediscover the skills (when a ``discover`` was given); return, once each, the
        skipped skills to tell the user about (shadowed ones are normal and not told)."""
        if self._discover is None:
            return []
        catalog = await asyncio.to_thread(self.refresh)
        notices = []
        for problem in catalog.problems:
            key = (problem.file, problem.rule)
            if key in self._reported or problem.rule.startswith("shadowed by"):
                continue
            self._reported.add(key)
            notices.append(f"skill skipped: {problem.file}: {problem.rule}")
        return notices

    def refresh(self) -> SkillCatalog:
        """Find the skills again (when a ``discover`` was given) and use them; blocking."""
        if self._discover is not None:
            self._catalog = self._discover()
        return self.catalog

    def prompt_section(self) -> str:
        """The level-1 block of the skills for the system prompt (``""`` without skills)."""
        return self.catalog.prompt()

    @property
    def catalog(self) -> SkillCatalog:
        """The catalog in force now."""
        return self._catalog() if callable(self._catalog) else self._catalog

    @catalog.setter
    def catalog(self, value: SkillCatalog | Callable[[], SkillCatalog]) -> None:
        self._catalog = value

    def specs(self) -> Sequence[ToolSpec]:
        """``(SKILL_TOOL,)``, or nothing when there are no skills."""
        return (SKILL_TOOL,) if self.catalog.skills else ()

    async def call(self, call: ToolCall, arguments: Mapping[str, Any]) -> ToolResult:
        """Run one call; every failure is an ``is_error`` result, cancellation propagates."""
        try:
            if call.name != SKILL_TOOL.name:
                raise ToolError(f"unknown tool {call.name!r}; this port offers only 'skill'")
            checked = check_arguments(SKILL_TOOL, arguments)
            skill = self._find(checked["name"])
            file = checked.get("file")
            if file is None:
                text = await asyncio.to_thread(self._instructions, skill)
            else:
                text = await asyncio.to_thread(self._file, skill, file)
        except ToolError as exc:
            return ToolResult(call_id=call.id, name=call.name, content=str(exc), is_error=True)
        except Exception as exc:
            # The port promises results, not exceptions: this is the tool-call boundary.
            logger.exception("skill tool failed")
            return ToolResult(
                call_id=call.id,
                name=call.name,
                content=f"skill failed unexpectedly: {type(exc).__name__}: {exc}",
                is_error=True,
            )
        return ToolResult(call_id=call.id, name=call.name, content=text)

    def _find(self, name: str) -> Skill:
        catalog = self.catalog
        skill = catalog.get(name)
        if skill is not None:
            return skill
        names = catalog.names()
        known = f"the skills are {', '.join(names)}" if names else "no skills are installed"
        raise ToolError(f"unknown skill {name!r}; {known}", tool=SKILL_TOOL.name)

    def _instructions(self, skill: Skill) -> str:
        root = _folder(skill)
        files, more = _list_files(root, self.listed_files)
        lines = [f"Skill {skill.name!r} (folder: {root})", "", skill.body or "(no instructions)"]
        lines.append("")
        if files:
            lines.append(
                f"Files in the skill's folder (read one with skill "
                f'{{"name": "{skill.name}", "file": PATH}}):'
            )
            lines.extend(f"- {path}" for path in files)
            if more:
                lines.append(f"- … more files, not listed (only the first {len(files)} are)")
        else:
            lines.append("The skill's folder holds no other files.")
        return "\n".join(lines)

    def _file(self, skill: Skill, file: str) -> str:
        root = _folder(skill)
        if "\0" in file:
            raise ToolError(f"file {file!r} contains a NUL byte; send a plain path")
        # realpath resolves '..' and every symlink, so the check below judges the real target.
        target = Path(os.path.realpath(root / file))
        if not target.is_relative_to(root):
            raise ToolError(
                f"file {file!r} resolves to {target}, outside the folder of skill "
                f"{skill.name!r} ({root}); send a path relative to that folder, as listed when "
                "the skill is loaded",
                tool=SKILL_TOOL.name,
            )
        text = _read_text(target, cap=self.file_bytes)
        if isinstance(text, _Refusal):
            raise ToolError(
                f"cannot return {file!r} of skill {skill.name!r}: {text.reason}",
                tool=SKILL_TOOL.name,
            )
        return text


def _folder(skill: Skill) -> Path:
    return Path(os.path.realpath(Path(skill.location).parent))


def _list_files(root: Path, cap: int) -> tuple[list[str], bool]:
    """The skill's files other than SKILL.md, relative, sorted per folder; and whether cut."""
    found: list[str] = []
    for current, dirs, files in os.walk(root):
        # Hidden entries (.git, .DS_Store) and caches are noise to the model.
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        here = Path(current)
        for name in sorted(files):
            if name.startswith(".") or (here == root and name == SKILL_FILE):
                continue
            # A link leading out of the folder would be refused on read: do not offer it.
            if not Path(os.path.realpath(here / name)).is_relative_to(root):
                continue
            if len(found) == cap:
                return found, True
            found.append((here / name).relative_to(root).as_posix())
    return found, False


_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def _first_sentence(text: str, cap: int = 120) -> str:
    sentence = _SENTENCE_END.split(" ".join(text.split()), maxsplit=1)[0]
    return sentence if len(sentence) <= cap else sentence[: cap - 1] + "…"
