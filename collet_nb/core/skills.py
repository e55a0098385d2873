"""Agent Skills parsing: a SKILL.md text becomes a ``Skill`` or the ``SkillProblem`` it breaks.

Follows https://agentskills.io/specification (``skills-ref`` is the test oracle); also builds the
level-1 block of the system prompt. Pure: callers hand in text and names, nothing is read here.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

MAX_NAME_CHARS = 64
MAX_DESCRIPTION_CHARS = 1024
MAX_COMPATIBILITY_CHARS = 500
FIELDS = ("name", "description", "license", "compatibility", "metadata", "allowed-tools")
"""The frontmatter fields the spec defines; skills-ref rejects any other, and so do we."""

ProblemField = Literal[
    "file",
    "frontmatter",
    "name",
    "description",
    "license",
    "compatibility",
    "metadata",
    "allowed-tools",
]

_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_NAME_RULE = f"1–{MAX_NAME_CHARS} characters of a-z, 0-9 and '-'"


@dataclass(frozen=True, kw_only=True)
class Skill:
    """A valid skill, as its SKILL.md declares it.

    Attributes:
        name: the skill's name (equals its folder's name).
        description: what the skill does and when to use it (level 1, always in the prompt).
        body: the Markdown after the frontmatter (level 2, loaded on demand).
        location: where its SKILL.md is (a path, as the caller gave it).
        license: the license name or bundled license file, if given.
        compatibility: the environment it needs, if given.
        metadata: extra string properties for clients.
        allowed_tools: tools the skill says are pre-approved (experimental in the spec; collet
            reads it but does not act on it).
    """

    name: str
    description: str
    body: str
    location: str
    license: str | None = None
    compatibility: str | None = None
    metadata: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    allowed_tools: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SkillProblem:
    """A SKILL.md that was skipped, and the rule it breaks.

    Attributes:
        file: the SKILL.md (or the folder) concerned.
        rule: the rule in words, saying what to change.
        field: the part at fault: a frontmatter field, the ``frontmatter`` as a whole, or the
            ``file`` itself (unreadable, too large, not UTF-8, missing).
    """

    file: str
    rule: str
    field: ProblemField


class _Broken(Exception):
    """One rule a SKILL.md breaks (internal: ``parse_skill`` returns it as a ``SkillProblem``)."""

    def __init__(self, part: ProblemField, rule: str) -> None:
        super().__init__(rule)
        self.part: ProblemField = part
        self.rule = rule


def parse_skill(text: str, *, folder: str, location: str) -> Skill | SkillProblem:
    """Parse and validate one SKILL.md.

    Args:
        text: the file's text.
        folder: the name of the folder holding it (the skill's name must equal it).
        location: the file's path, recorded in the result.

    Returns:
        The ``Skill``, or the ``SkillProblem`` naming the first rule the file breaks.
    """
    try:
        frontmatter, body = _split(text)
        data = _load_mapping(frontmatter)
        name = _check_name(data, folder)
        description = _required_text(data, "description", MAX_DESCRIPTION_CHARS)
        unknown = sorted(set(data) - set(FIELDS))
        if unknown:
            raise _Broken(
                "frontmatter",
                f"unknown frontmatter field(s) {', '.join(map(repr, unknown))}: the spec allows "
                f"only {', '.join(FIELDS)}; put custom properties under 'metadata'",
            )
        compatibility = (
            _required_text(data, "compatibility", MAX_COMPATIBILITY_CHARS)
            if "compatibility" in data
            else None
        )
        return Skill(
            name=name,
            description=description,
            body=body,
            location=location,
            license=_license(data.get("license")),
            compatibility=compatibility,
            metadata=_metadata(data.get("metadata")),
            allowed_tools=_allowed_tools(data.get("allowed-tools")),
        )
    except _Broken as broken:
        return SkillProblem(file=location, rule=broken.rule, field=broken.part)


def skills_prompt(skills: Sequence[Skill]) -> str:
    """The level-1 block for the system prompt: each skill's name and description.

    Returns:
        The block (skills sorted by name), or ``""`` when there are none.
    """
    if not skills:
        return ""
    lines = [
        "# Skills",
        "Skills are folders of instructions for specific tasks. When a task matches a skill's "
        "description, call the `skill` tool with the skill's name to load its instructions "
        "before you start.",
        "<available_skills>",
    ]
    for skill in sorted(skills, key=lambda s: s.name):
        lines += [
            "<skill>",
            f"<name>{html.escape(skill.name)}</name>",
            f"<description>{html.escape(skill.description)}</description>",
            "</skill>",
        ]
    lines.append("</available_skills>")
    return "\n".join(lines)


def _split(text: str) -> tuple[str, str]:
    """Return (frontmatter, body) of a text that opens with a ``---`` line."""
    lines = text.removeprefix("\ufeff").split("\n")
    if lines[0].rstrip(" \t\r") != "---":
        raise _Broken(
            "frontmatter",
            "SKILL.md must start with a '---' line opening the YAML frontmatter "
            "(name, description), closed by another '---' line",
        )
    for index in range(1, len(lines)):
        if lines[index].rstrip(" \t\r") == "---":
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :]).strip()
    raise _Broken("frontmatter", "the YAML frontmatter is never closed: add a '---' line after it")


def _load_mapping(frontmatter: str) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.load(frontmatter, Loader=_string_loader())  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise _Broken("frontmatter", _describe_yaml_error(exc)) from None
    if not isinstance(data, dict):
        got = "nothing" if data is None else f"a {_kind(data)}"
        raise _Broken(
            "frontmatter",
            f"the frontmatter must be a YAML mapping (name: …, description: …), not {got}",
        )
    return data


@functools.cache
def _string_loader() -> type[Any]:
    """A safe YAML loader that keeps every plain scalar a string and refuses duplicate keys.

    The spec's fields are all strings; PyYAML's usual resolvers would turn ``name: 2024`` into an
    int or ``description: yes`` into True. Keeping strings matches skills-ref (strictyaml).
    """
    import yaml

    base = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader

    def construct_mapping(loader: Any, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, str) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key if isinstance(key, str) else id(key_node))
        return base.construct_mapping(loader, node, deep=deep)

    # type() rather than a class statement: PyYAML ships no types, and mypy refuses to
    # subclass an Any.
    return type(
        "SkillFrontmatterLoader",
        (base,),
        {"yaml_implicit_resolvers": {}, "construct_mapping": construct_mapping},
    )


def _describe_yaml_error(exc: Exception) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    # The frontmatter starts on the file's second line.
    where = f" at line {mark.line + 2}, column {mark.column + 1}" if mark is not None else ""
    return f"the frontmatter is not valid YAML: {problem}{where}"


def _check_name(data: Mapping[str, Any], folder: str) -> str:
    name = data.get("name")
    if name is None:
        raise _Broken("name", f"the frontmatter needs a 'name' field: {_NAME_RULE}")
    if not isinstance(name, str):
        raise _Broken("name", f"'name' must be a string of {_NAME_RULE}, not a {_kind(name)}")
    if not 1 <= len(name) <= MAX_NAME_CHARS:
        raise _Broken("name", f"name {_preview(name)} has {len(name)} characters: use {_NAME_RULE}")
    bad = sorted({c for c in name if not ("a" <= c <= "z" or "0" <= c <= "9" or c == "-")})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise _Broken("name", f"name {name!r} has {shown}: use only lowercase a-z, 0-9 and '-'")
    if not _NAME.fullmatch(name):
        raise _Broken("name", f"name {name!r} must not start or end with '-' nor contain '--'")
    if name != folder:
        raise _Broken(
            "name",
            f"name {name!r} must equal its folder's name {folder!r}: rename one of them",
        )
    return name


def _required_text(data: Mapping[str, Any], key: ProblemField, cap: int) -> str:
    """A string field that must hold 1–``cap`` characters (ignoring surrounding whitespace)."""
    if key not in data:
        raise _Broken(key, f"the frontmatter needs a '{key}' field of 1–{cap} characters")
    value = data[key]
    if not isinstance(value, str):
        raise _Broken(key, f"'{key}' must be text of 1–{cap} characters, not a {_kind(value)}")
    text = value.strip()
    if not text:
        raise _Broken(key, f"'{key}' is empty: it must hold 1–{cap} characters")
    if len(text) > cap:
        raise _Broken(key, f"'{key}' has {len(text):,} characters: at most {cap:,} are allowed")
    return text


def _license(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Broken("license", f"'license' must be text (a license name), not a {_kind(value)}")
    return value.strip() or None


def _metadata(value: Any) -> Mapping[str, str]:
    if value is None:
        return MappingProxyType({})
    rule = "'metadata' must be a mapping of string keys to string values"
    if not isinstance(value, dict):
        raise _Broken("metadata", f"{rule}, not a {_kind(value)}")
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise _Broken("metadata", f"{rule}; {key!r} holds a {_kind(item)}")
    return MappingProxyType(dict(value))


def _allowed_tools(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(item.strip() for item in value if item.strip())
    raise _Broken(
        "allowed-tools",
        "'allowed-tools' must be a space-separated string or a list of strings, "
        f"not a {_kind(value)}",
    )


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def _preview(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:40] + "…")
