"""What an MCP server asks the person (``elicitation/create``): the form's fields, read from the
requested JSON schema, and the person's answer checked against them (pure).

A form's schema is flat (MCP allows only top-level primitive properties): strings (with
``format`` email, uri, date, date-time and length limits), numbers and integers (with limits),
booleans, one choice of a list (``enum``, ``enum`` + ``enumNames``, ``oneOf`` of ``const`` /
``title``) and several choices of a list (``array`` of such items). An answer is filled in:
a field left out takes its default; what is wrong is said field by field, and nothing goes to
the server until it is right. A URL-mode request has no fields: the person opens the link.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from collet_nb.errors import ConfigError

FieldType = Literal["string", "number", "integer", "boolean", "choice", "choices"]
Action = Literal["accept", "decline", "cancel"]
ACTIONS: tuple[Action, ...] = ("accept", "decline", "cancel")
FORMATS = ("email", "uri", "date", "date-time")

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}
_SHOWN_OPTIONS = 8


class SchemaUnsupported(ValueError):
    """The requested schema is not a flat form this client can show (says which property)."""


@dataclass(frozen=True, kw_only=True)
class Option:
    """One choice of a ``choice`` or ``choices`` field: the value sent and the words shown."""

    value: str
    label: str


@dataclass(frozen=True, kw_only=True)
class FormField:
    """One field of a form.

    Attributes:
        name: the property's name (the key of the answer).
        type: ``string``, ``number``, ``integer``, ``boolean``, ``choice`` (one of
            ``options``) or ``choices`` (some of ``options``).
        title: what the form calls it ("" when the schema gives none).
        description: what it is for ("" when none).
        required: whether the answer must have it (a default counts as having it).
        default: the value it takes when left out (None: none).
        options: the choices of a ``choice`` or ``choices`` field.
        format: of a string: ``email``, ``uri``, ``date``, ``date-time`` or "".
        minimum: the least value (numbers), length (strings) or count (choices); None: any.
        maximum: the greatest, likewise.
    """

    name: str
    type: FieldType
    title: str = ""
    description: str = ""
    required: bool = False
    default: Any = None
    options: tuple[Option, ...] = ()
    format: str = ""
    minimum: float | None = None
    maximum: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The field as the ``elicitation_requested`` event carries it (docs/protocol.md)."""
        return {
            "name": self.name,
            "type": self.type,
            "title": self.title,
            "description": self.description,
            "required": self.required,
            "default": list(self.default) if isinstance(self.default, tuple) else self.default,
            "options": [{"value": o.value, "label": o.label} for o in self.options],
            "format": self.format,
            "minimum": self.minimum,
            "maximum": self.maximum,
        }


@dataclass(frozen=True, kw_only=True)
class ElicitationRequest:
    """What a server asks the person.

    Attributes:
        server: the server's name in mcp.json.
        message: what it says to the person.
        mode: ``form`` (fill in ``fields``) or ``url`` (open ``url``, out of band).
        fields: the form's fields, in the schema's order.
        url: the link of a URL-mode request ("" for a form).
    """

    server: str
    message: str
    mode: Literal["form", "url"] = "form"
    fields: tuple[FormField, ...] = ()
    url: str = ""


@dataclass(frozen=True, kw_only=True)
class ElicitationAnswer:
    """The person's answer: ``accept`` (with ``content`` for a form), ``decline`` or ``cancel``
    (dismissed, or the turn was cancelled)."""

    action: Action
    content: Mapping[str, Any] | None = None


def fields_of(schema: Mapping[str, Any]) -> tuple[FormField, ...]:
    """The fields of a requested schema, in its order.

    Raises:
        SchemaUnsupported: for a schema that is not an object of primitive properties (naming
            the first property that is not, and what it is).
    """
    if schema.get("type", "object") != "object":
        raise SchemaUnsupported(f"the requested schema is a {schema.get('type')!r}, not an object")
    properties = schema.get("properties") or {}
    if not isinstance(properties, Mapping):
        raise SchemaUnsupported("the requested schema's properties are not an object")
    required = set(schema.get("required") or ())
    return tuple(
        _field(str(name), spec, str(name) in required) for name, spec in properties.items()
    )


def _field(name: str, spec: Any, required: bool) -> FormField:
    if not isinstance(spec, Mapping):
        raise SchemaUnsupported(f"property {name!r} is not a schema")
    kind = spec.get("type")
    common: dict[str, Any] = {
        "name": name,
        "title": str(spec.get("title") or ""),
        "description": str(spec.get("description") or ""),
        "required": required,
    }
    if kind == "array":
        items = spec.get("items")
        options = _options(items if isinstance(items, Mapping) else {})
        if not options:
            raise SchemaUnsupported(f"property {name!r} is a list of something other than choices")
        return FormField(
            type="choices", options=options, default=_list_default(spec.get("default")),
            minimum=_number(spec.get("minItems")), maximum=_number(spec.get("maxItems")),
            **common,
        )  # fmt: skip
    if kind == "string" or (kind is None and ("enum" in spec or "oneOf" in spec)):
        options = _options(spec)
        if options:
            default = spec.get("default")
            return FormField(
                type="choice", options=options,
                default=str(default) if default is not None else None, **common,
            )  # fmt: skip
        fmt = str(spec.get("format") or "")
        return FormField(
            type="string", format=fmt if fmt in FORMATS else "",
            default=spec.get("default") if isinstance(spec.get("default"), str) else None,
            minimum=_number(spec.get("minLength")), maximum=_number(spec.get("maxLength")),
            **common,
        )  # fmt: skip
    if kind in ("number", "integer"):
        default = spec.get("default")
        number_default = (
            default if isinstance(default, int | float) and not isinstance(default, bool) else None
        )
        return FormField(
            type=kind, default=number_default,
            minimum=_number(spec.get("minimum")), maximum=_number(spec.get("maximum")), **common,
        )  # fmt: skip
    if kind == "boolean":
        default = spec.get("default")
        return FormField(type="boolean", default=default if isinstance(default, bool) else None,
                         **common)  # fmt: skip
    raise SchemaUnsupported(f"property {name!r} is of type {kind!r}, which a form cannot ask for")


def _options(spec: Mapping[str, Any]) -> tuple[Option, ...]:
    """The choices of an enum schema: ``enum`` (with ``enumNames``), or ``oneOf`` / ``anyOf``
    of ``{const, title}``."""
    enum = spec.get("enum")
    if isinstance(enum, list) and enum:
        names = spec.get("enumNames")
        labels = names if isinstance(names, list) and len(names) == len(enum) else enum
        return tuple(
            Option(value=str(v), label=str(lab)) for v, lab in zip(enum, labels, strict=True)
        )
    for key in ("oneOf", "anyOf"):
        found = spec.get(key)
        if (
            isinstance(found, list)
            and found
            and all(isinstance(o, Mapping) and "const" in o for o in found)
        ):
            return tuple(
                Option(value=str(o["const"]), label=str(o.get("title") or o["const"]))
                for o in found
            )
    return ()


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return value
    return None


def _list_default(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def parse_answer(text: str) -> dict[str, Any]:
    """The JSON object of ``/answer {…}`` ("" means: every field as its default).

    Raises:
        ConfigError: when the text is not a JSON object, saying where it breaks.
    """
    text = text.strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f'/answer takes a JSON object such as {{"name": "Ada"}}; this is not JSON '
            f"({exc.msg} at character {exc.pos})",
            key="answer",
        ) from None
    if not isinstance(value, dict):
        raise ConfigError(
            f'/answer takes a JSON object such as {{"name": "Ada"}}, not a {type(value).__name__}',
            key="answer",
        )
    return value


def fill(fields: tuple[FormField, ...], answer: Mapping[str, Any]) -> dict[str, Any]:
    """The content sent for ``answer``: each field's value checked (and read from text where a
    form gives text: ``"42"`` for an integer), a field left out (or empty) taking its default.

    Raises:
        ConfigError: naming every field that is wrong and how to fix it (nothing is sent).
    """
    known = {f.name: f for f in fields}
    problems = [
        f"there is no field {key!r} (the fields are: {', '.join(known) or 'none'})"
        for key in answer
        if key not in known
    ]
    content: dict[str, Any] = {}
    for spec in fields:
        value = answer.get(spec.name)
        if value is None or value in ("", []):
            if spec.default is not None:
                content[spec.name] = (
                    list(spec.default) if isinstance(spec.default, tuple) else spec.default
                )
            elif spec.required:
                problems.append(f"{spec.name}: required — give {_expected(spec)}")
            continue
        try:
            content[spec.name] = _checked(spec, value)
        except ValueError as exc:
            problems.append(f"{spec.name}: {exc}")
    if problems:
        raise ConfigError(
            "the answer needs fixing (nothing was sent): " + "; ".join(problems), key="answer"
        )
    return content


def _checked(spec: FormField, value: Any) -> Any:
    """``value`` as ``spec`` takes it; ValueError says what is wrong."""
    if spec.type == "string":
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not text — give {_expected(spec)}")
        _within(spec, len(value), "characters")
        _formatted(spec.format, value)
        return value
    if spec.type in ("number", "integer"):
        number = _as_number(value, integer=spec.type == "integer")
        _within(spec, number, "")
        return number
    if spec.type == "boolean":
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise ValueError(f"{value!r} is not true or false")
    if spec.type == "choice":
        return _choice(spec, value)
    chosen = [value] if isinstance(value, str) else value
    if not isinstance(chosen, list):
        raise ValueError(f"{value!r} is not a list — give {_expected(spec)}")
    picked = list(dict.fromkeys(_choice(spec, v) for v in chosen))
    _within(spec, len(picked), "choices")
    return picked


def _as_number(value: Any, *, integer: bool) -> int | float:
    what = "an integer" if integer else "a number"
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not {what}")
    if isinstance(value, str):
        try:
            value = float(value.strip()) if not integer else _int_text(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not {what}") from None
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{value!r} is not {what}")
    if integer:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{value!r} is not {what}")
        return int(value)
    return value


def _int_text(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)  # "42.0" is 42; "4.5" fails the integer check after


def _within(spec: FormField, size: float, unit: str) -> None:
    low, high = spec.minimum, spec.maximum
    noun = f" {unit}" if unit else ""
    shown = f"{size:g}" if isinstance(size, float) else str(size)
    if low is not None and size < low:
        raise ValueError(f"{shown}{noun} is below the minimum of {low:g}")
    if high is not None and size > high:
        raise ValueError(f"{shown}{noun} is above the maximum of {high:g}")


def _formatted(fmt: str, value: str) -> None:
    if fmt == "email" and not _EMAIL.fullmatch(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    if fmt == "uri" and not _URI.fullmatch(value):
        raise ValueError(f"{value!r} is not a URI (such as https://example.org)")
    if fmt == "date":
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None
    if fmt == "date-time":
        try:
            dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date and time (YYYY-MM-DDTHH:MM)") from None


def _choice(spec: FormField, value: Any) -> str:
    text = str(value)
    for option in spec.options:
        if text == option.value:
            return option.value
    for option in spec.options:  # headless, the words shown are easier to type
        if text.strip().lower() == option.label.lower():
            return option.value
    raise ValueError(f"{value!r} is not one of {_choices_text(spec)}")


def _choices_text(spec: FormField) -> str:
    shown = [
        o.value if o.label == o.value else f"{o.value} ({o.label})"
        for o in spec.options[:_SHOWN_OPTIONS]
    ]
    more = len(spec.options) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _expected(spec: FormField) -> str:
    """What a field takes, in a few words."""
    if spec.type == "string":
        return {"email": "an e-mail address", "uri": "a URI", "date": "a date (YYYY-MM-DD)",
                "date-time": "a date and time"}.get(spec.format, "text")  # fmt: skip
    if spec.type == "choice":
        return f"one of {_choices_text(spec)}"
    if spec.type == "choices":
        return f"a list of some of {_choices_text(spec)}"
    return {"number": "a number", "integer": "an integer", "boolean": "true or false"}[spec.type]


def describe_field(spec: FormField) -> str:
    """One line for a text view: ``name* (an integer, 1 to 100; default 42) — description``."""
    facts = [_expected(spec)]
    if spec.minimum is not None or spec.maximum is not None:
        low = "" if spec.minimum is None else f"{spec.minimum:g}"
        high = "" if spec.maximum is None else f"{spec.maximum:g}"
        unit = {"string": " characters", "choices": " choices"}.get(spec.type, "")
        facts.append(f"{low} to {high}{unit}".strip() if low and high else
                     (f"at least {low}{unit}" if low else f"at most {high}{unit}"))  # fmt: skip
    if spec.default is not None:
        default = list(spec.default) if isinstance(spec.default, tuple) else spec.default
        facts.append(f"default {json.dumps(default, ensure_ascii=False)}")
    label = f"{spec.name}{'*' if spec.required else ''}"
    said = spec.description or spec.title
    return f"{label} ({'; '.join(facts)})" + (f" — {said}" if said else "")


def example(fields: tuple[FormField, ...]) -> str:
    """A ``/answer`` example naming the required fields without a default."""
    wanted = {f.name: _sample(f) for f in fields if f.required and f.default is None} or {
        f.name: _sample(f) for f in fields[:1]
    }
    return json.dumps(wanted, ensure_ascii=False)


def _sample(spec: FormField) -> Any:
    if spec.type in ("choice", "choices"):
        first = spec.options[0].value if spec.options else "…"
        return first if spec.type == "choice" else [first]
    return {"number": 1.5, "integer": 1, "boolean": True}.get(spec.type, "…")


def url_openable(url: str) -> bool:
    """Whether a URL-mode link may be shown as a link (http or https only)."""
    return re.match(r"https?://[^\s]+$", url, flags=re.IGNORECASE) is not None
