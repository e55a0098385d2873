"""The bench's table: one row per figure (metric, value, before, target, met?), and the statistics
every section shares (median, nearest-rank percentiles)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Row:
    """One line of the table.

    Attributes:
        section: the issue's item it belongs to (``"1 load"``).
        metric: what was measured.
        value: the figure, formatted with its unit.
        before: the same figure before the change it tracks (``""`` when none was recorded).
        target: the target, as text (``""`` when there is none).
        met: whether the target is met (``None`` when there is no target or no figure).
    """

    section: str
    metric: str
    value: str
    before: str = ""
    target: str = ""
    met: bool | None = None


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0 ≤ q ≤ 1) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def median(values: Iterable[float]) -> float:
    """The median of ``values``."""
    return statistics.median(values)


def at_most(value: float, limit: float) -> bool:
    """Whether ``value`` meets an upper-bound target."""
    return value <= limit


def at_least(value: float, limit: float) -> bool:
    """Whether ``value`` meets a lower-bound target."""
    return value >= limit


def _met(row: Row) -> str:
    if row.met is None:
        return ""
    return "yes" if row.met else "NO"


def table(rows: Sequence[Row]) -> str:
    """The rows as an aligned Markdown table (it pastes into notes and READMEs as it is)."""
    head = ("#", "metric", "value", "before", "target", "met?")
    cells = [head] + [(r.section, r.metric, r.value, r.before, r.target, _met(r)) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(head), rule, *(line(r) for r in cells[1:])])
