"""Checks a tool call's arguments against the small JSON-schema subset the built-in tools use.

Supported: ``required``, ``additionalProperties: false``, the types string, integer, number and
boolean, and ``minimum``/``exclusiveMinimum``. Every problem is named in one message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collet_nb.core.chat import ToolSpec
from collet_nb.errors import ToolError

_TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number"}


def signature(spec: ToolSpec) -> str:
    """The tool's call shape as the docs write it, e.g. ``file_read {path, offset?, limit?}``."""
    properties: Mapping[str, Any] = spec.parameters.get("properties", {})
    required = set(spec.parameters.get("required", ()))
    fields = ", ".join(name if name in required else f"{name}?" for name in properties)
    return f"{spec.name} {{{fields}}}"


def check_arguments(spec: ToolSpec, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Return the arguments, normalised, if they fit ``spec.parameters``.

    An optional argument sent as ``null`` counts as absent, and an integral float (``5.0``)
    is accepted as an integer: models send both.

    Raises:
        ToolError: naming every missing, unknown or wrongly typed argument.
    """
    schema = spec.parameters
    properties: Mapping[str, Any] = schema.get("properties", {})
    required: list[str] = list(schema.get("required", ()))
    problems: list[str] = []
    checked: dict[str, Any] = {}
    problems.extend(
        f"missing required argument '{name}'" for name in required if arguments.get(name) is None
    )
    for name, value in arguments.items():
        field = properties.get(name)
        if field is None:
            if schema.get("additionalProperties", True) is False:
                problems.append(f"unknown argument '{name}'")
            continue
        if value is None:
            continue  # absent optional (a missing required one was reported above)
        problem, normalised = _check_value(name, value, field)
        if problem:
            problems.append(problem)
        else:
            checked[name] = normalised
    if problems:
        raise ToolError(
            f"invalid arguments for {spec.name}: {'; '.join(problems)}. Expected {signature(spec)}",
            tool=spec.name,
        )
    return checked


def _check_value(name: str, value: Any, field: Mapping[str, Any]) -> tuple[str, Any]:
    """Return (problem or "", normalised value)."""
    kind = field.get("type")
    if kind == "string":
        ok = isinstance(value, str)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "integer":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = True  # a type this subset does not check
    if not ok:
        wanted = _TYPE_NAMES.get(str(kind), f"a {kind}")
        return f"'{name}' must be {wanted}, not {_json_type(value)} {_preview(value)}", value
    minimum = field.get("minimum")
    if minimum is not None and value < minimum:
        return f"'{name}' must be at least {minimum}, not {value}", value
    above = field.get("exclusiveMinimum")
    if above is not None and value <= above:
        return f"'{name}' must be greater than {above}, not {value}", value
    return "", value


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _preview(value: Any) -> str:
    text = repr(value)
    return f"({text[:40]}…)" if len(text) > 40 else f"({text})"
