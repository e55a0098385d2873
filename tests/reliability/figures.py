"""What the reliability tests measured (messages, faults, orphans …), for the closing summary."""

from __future__ import annotations

from typing import Any

# test name → its figures; conftest prints them after the run.
FIGURES: dict[str, dict[str, Any]] = {}


def report(name: str, **figures: Any) -> None:
    """Record (or extend) the figures of ``name``."""
    FIGURES.setdefault(name, {}).update(figures)
