"""Compact, capped summaries of a notebook's values that never run the user's code.

Only exact builtin types are ``repr``'d or measured; NumPy arrays and pandas frames (told apart
by their type's module, without importing either) show their shape, dtypes and a few values
formatted by the library; every other object is named by its type alone: no ``__repr__``,
``__len__``, property or ``__class__`` of a user's object is ever touched.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_SCALARS = (bool, int, float, complex, type(None), range)
_SEQUENCES: dict[type, tuple[str, str]] = {
    list: ("[", "]"),
    tuple: ("(", ")"),
    set: ("{", "}"),
    frozenset: ("{", "}"),
}
# The slot behind a module's __dict__: read through it, a module subclass cannot intercept.
_MODULE_DICT: Any = vars(types.ModuleType)["__dict__"]
_TEXT = (str, bytes, bytearray)
# Above this many bits an int's decimal repr is slow (and capped by Python): give its size.
_INT_BITS = 256
_TABLE_LINE = 96
_NOTE_CHARS = 400  # the longest closing note of a listing that was cut


@dataclass(frozen=True, kw_only=True)
class SummaryLimits:
    """Caps on what a summary shows.

    Attributes:
        value_chars: characters of one value's summary.
        table_chars: characters of a DataFrame's or Series' summary (it holds a few rows).
        total_chars: characters of a whole listing of variables.
        items: elements of a container, values of an array, shown.
        rows: rows of a DataFrame or Series shown.
        columns: columns of a DataFrame listed and shown.
    """

    value_chars: int = 200
    table_chars: int = 800
    total_chars: int = 8000
    items: int = 5
    rows: int = 5
    columns: int = 12

    def __post_init__(self) -> None:
        for name in ("value_chars", "table_chars", "total_chars", "items", "rows", "columns"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"SummaryLimits.{name} must be at least 1, not {getattr(self, name)}"
                )


def type_name(cls: type) -> str:
    """``module.QualName`` of ``cls`` (``int`` for builtins), read past any metaclass."""
    # type's own descriptors: a metaclass cannot intercept them with properties.
    module = type.__dict__["__module__"].__get__(cls, type)
    qualname = type.__dict__["__qualname__"].__get__(cls, type)
    if type(qualname) is not str:
        qualname = "?"
    if type(module) is not str or module == "builtins":
        return qualname
    return f"{module}.{qualname}"


def _one_of(cls: type, choices: Iterable[type]) -> bool:
    # Identity, not `in`: `in` compares with ==, which a metaclass could define.
    return any(cls is choice for choice in choices)


def cut(text: str, cap: int) -> str:
    """``text``, or its first ``cap`` characters ending with an ellipsis."""
    return text if len(text) <= cap else text[: max(cap - 1, 0)] + "…"


def summarize(value: object, limits: SummaryLimits | None = None) -> str:
    """A one-value summary such as ``list len=3 [1, 2, 'a']`` or ``numpy.ndarray shape=(2,)``.

    Never raises for an odd object: a summary that fails names the type and the failure.
    """
    limits = limits or SummaryLimits()
    cls = type(value)
    try:
        text, cap = _summary(value, cls, limits)
    except Exception as exc:  # a library's own formatting failing must not fail the tool
        text, cap = f"{type_name(cls)} (no summary: {type(exc).__name__})", limits.value_chars
    return cut(text, cap)


def is_listed(name: str, value: object) -> bool:
    """Whether a variable belongs in a listing: not private, not a module, not collet's own."""
    if name.startswith("_"):
        return False
    cls = type(value)
    if issubclass(cls, types.ModuleType):
        return False
    module = type.__dict__["__module__"].__get__(cls, type)
    return not (type(module) is str and module.split(".")[0] == "collet_nb")


def summarize_variables(
    namespace: Mapping[str, object],
    names: Iterable[str],
    limits: SummaryLimits | None = None,
) -> str:
    """``name: summary`` lines for ``names`` of ``namespace``, within ``limits.total_chars``.

    Names missing from the namespace are listed as not defined; what the total cap cuts is
    named in a last line, so the model can ask for those names alone.
    """
    limits = limits or SummaryLimits()
    lines: list[str] = []
    used = 0
    wanted = list(names)
    for index, name in enumerate(wanted):
        if name in namespace:
            line = f"{name}: {summarize(namespace[name], limits)}"
        else:
            line = f"{name}: not defined"
        # Keep room for the closing note while more names follow: the whole stays in the cap.
        room = limits.total_chars - (0 if index == len(wanted) - 1 else _NOTE_CHARS)
        if used + len(line) > room:
            rest = wanted[index:]
            note = (
                f"[{len(rest)} more not shown (the {limits.total_chars:,}-character cap): "
                f"{cut(', '.join(rest), 300)}; ask for some of them with `names`]"
            )
            lines.append(cut(note, limits.total_chars - used))
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)


# ── one value ──


def _summary(value: Any, cls: type, limits: SummaryLimits) -> tuple[str, int]:  # noqa: PLR0911 - one return per kind of value
    """(summary, its cap)."""
    short = limits.value_chars
    if _one_of(cls, _SCALARS):
        return f"{type_name(cls)} = {_scalar(value)}", short
    if _one_of(cls, _TEXT):
        return f"{type_name(cls)} len={len(value)} {_text(value, short)}", short
    if _one_of(cls, _SEQUENCES):
        return f"{type_name(cls)} len={len(value)} {_sequence(value, cls, limits)}", short
    if cls is dict:
        return f"dict len={len(value)} {_mapping(value, limits)}", short
    module = type.__dict__["__module__"].__get__(cls, type)
    if type(module) is str:
        if module == "numpy":
            return _numpy(value, cls, limits), short
        if module.split(".")[0] == "pandas":  # "pandas" since 3.0, "pandas.core.frame" before
            return _pandas(value, cls, limits), limits.table_chars
    if cls is types.FunctionType:
        return f"function{_parameters(value.__code__)}", short
    if issubclass(cls, type):
        return f"class {type_name(value)}", short
    if issubclass(cls, types.ModuleType):
        name = _MODULE_DICT.__get__(value).get("__name__")
        return f"module {name if type(name) is str else '?'}", short
    return f"{type_name(cls)} object", short


def _scalar(value: Any) -> str:
    if type(value) is int and value.bit_length() > _INT_BITS:
        return f"<{value.bit_length()}-bit integer>"
    return repr(value)  # exact builtin types only: their repr runs no user code


def _text(value: str | bytes | bytearray, cap: int) -> str:
    return repr(value[:cap]) + ("…" if len(value) > cap else "")


def _brief(value: Any, limits: SummaryLimits, depth: int = 1) -> str:
    """An element of a container, in a few characters."""
    cls = type(value)
    if _one_of(cls, _SCALARS):
        return _scalar(value)
    if _one_of(cls, _TEXT):
        return _text(value, 40)
    container = cls is dict or _one_of(cls, _SEQUENCES)
    if container and depth > 0:
        return (
            _mapping(value, limits, depth - 1)
            if cls is dict
            else _sequence(value, cls, limits, depth - 1)
        )
    if container:
        return f"<{type_name(cls)} len={len(value)}>"
    return f"<{type_name(cls)}>"


def _sequence(value: Any, cls: type, limits: SummaryLimits, depth: int = 1) -> str:
    opening, closing = next(marks for kind, marks in _SEQUENCES.items() if kind is cls)
    shown = []
    for index, item in enumerate(value):
        if index == limits.items:
            shown.append("…")
            break
        shown.append(_brief(item, limits, depth))
    comma = "," if cls is tuple and len(shown) == 1 else ""
    return f"{opening}{', '.join(shown)}{comma}{closing}"


def _mapping(value: dict[Any, Any], limits: SummaryLimits, depth: int = 1) -> str:
    shown = []
    for index, (key, item) in enumerate(value.items()):
        if index == limits.items:
            shown.append("…")
            break
        shown.append(f"{_brief(key, limits, 0)}: {_brief(item, limits, depth)}")
    return "{" + ", ".join(shown) + "}"


def _parameters(code: types.CodeType) -> str:
    count = code.co_argcount + code.co_kwonlyargcount
    names = list(code.co_varnames[:count])
    if code.co_flags & 0x04:  # CO_VARARGS
        names.insert(code.co_argcount, "*" + code.co_varnames[count])
        count += 1
    if code.co_flags & 0x08:  # CO_VARKEYWORDS
        names.append("**" + code.co_varnames[count])
    return f"({', '.join(names)})"


def _numpy(value: Any, cls: type, limits: SummaryLimits) -> str:
    numpy = sys.modules.get("numpy")  # present: one of its objects exists
    if numpy is None:
        return f"{type_name(cls)} object"
    if cls is numpy.ndarray:
        head = f"numpy.ndarray shape={value.shape} dtype={value.dtype}"
        if value.dtype.kind in "biufcUS" and value.size:
            # .flat[:k] copies k elements, never the whole (maybe huge, strided) array.
            first = value.flat[: limits.items].tolist()
            more = ", …" if value.size > limits.items else ""
            head += f" [{', '.join(_brief(v, limits, 0) for v in first)}{more}]"
        return head
    if issubclass(cls, numpy.generic) and value.dtype.kind in "biufcUS":
        return f"numpy.{cls.__name__} = {_brief(value.item(), limits, 0)}"
    return f"{type_name(cls)} object"


def _pandas(value: Any, cls: type, limits: SummaryLimits) -> str:
    pandas = sys.modules.get("pandas")
    if pandas is None:
        return f"{type_name(cls)} object"
    if cls is pandas.DataFrame:
        rows, columns = value.shape
        dtypes = value.dtypes.iloc[: limits.columns]
        listed = ", ".join(
            f"{_label(name)}:{dtype}" for name, dtype in zip(dtypes.index, dtypes, strict=True)
        )
        more = f", … ({columns} columns)" if columns > limits.columns else ""
        head = value.iloc[: limits.rows, : limits.columns]
        title = f"pandas.DataFrame shape=({rows}, {columns}) columns: {listed}{more}"
        return f"{cut(title, limits.value_chars)}\n{_table(head, pandas, limits)}"
    if cls is pandas.Series:
        name = f" name={_label(value.name)}" if value.name is not None else ""
        head = value.iloc[: limits.rows].to_frame(name="value")
        return (
            f"pandas.Series len={len(value)} dtype={value.dtype}{name}\n"
            f"{_table(head, pandas, limits)}"
        )
    return f"{type_name(cls)} object"


def _label(value: Any) -> str:
    """A label or table cell: strings as they are, safe values by repr, others by type."""
    cls = type(value)
    if cls is str:
        return cut(value, 30)
    if _one_of(cls, _SCALARS):
        return _scalar(value)
    if cls is tuple:  # a MultiIndex label
        return "(" + ", ".join(_label(part) for part in value) + ")"
    numpy = sys.modules.get("numpy")
    if numpy is not None and issubclass(cls, numpy.generic) and value.dtype.kind in "biufcUSM":
        return str(value)
    # The short name: table cells are narrow, and the column's dtype says the rest.
    return f"<{type_name(cls).rpartition('.')[2]}>"


def _table(frame: Any, pandas: Any, limits: SummaryLimits) -> str:
    """The first rows as pandas prints them, with object cells, labels and index made safe."""
    frame = frame.copy()
    for position in range(frame.shape[1]):
        dtype = frame.dtypes.iloc[position]
        # Object and category columns may hold anything; string columns hold only text.
        if dtype.kind == "O" and str(dtype) not in ("str", "string"):
            cells = frame.iloc[:, position].tolist()  # the objects themselves, no formatting
            frame.isetitem(position, [_label(cell) for cell in cells])
    if frame.columns.dtype == object:
        frame.columns = pandas.Index([_label(v) for v in frame.columns.tolist()], dtype=object)
    if frame.index.dtype == object:
        frame.index = pandas.Index([_label(v) for v in frame.index.tolist()], dtype=object)
    text: str = frame.to_string(max_colwidth=24, show_dimensions=False)
    # Cut each line, not the whole: every row stays visible, with its first columns.
    return "\n".join(cut(line, _TABLE_LINE) for line in text.splitlines())
