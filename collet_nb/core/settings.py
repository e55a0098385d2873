"""The effective settings of a session: one frozen record, the API key masked in its repr.

Where values come from (defaults < ~/.collet/config.toml < project config < traitlets <
environment < slash commands) is the config adapter's job; this module only defines the
record, its defaults and validation.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from collet_nb.core.kinds import ApprovalMode, StreamingLevel, WorkspaceScope
from collet_nb.errors import ConfigError

PROVIDERS = ("openai", "anthropic", "demo")
DEFAULT_MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-5", "demo": "demo"}


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a session needs to know about its configuration.

    Attributes mirror the COLLET_* environment variables of docs/design.md.
    """

    provider: str = "demo"
    base_url: str | None = None
    model: str = "demo"
    api_key: str | None = field(default=None, repr=False)
    approval: ApprovalMode = ApprovalMode.AUTO
    streaming: StreamingLevel = StreamingLevel.FULL
    workspace: WorkspaceScope = WorkspaceScope.PROJECT
    max_iterations: int = 50
    tool_timeout: float = 120.0
    task_timeout: float = 600.0
    circuit_breaker: int = 3
    session_timeout: float = 24 * 3600.0
    context_budget: int = 128_000
    home: str = "~/.collet"
    max_retries: int = 8
    request_timeout: float = 120.0
    demo_pace: float = 0.02

    def __post_init__(self) -> None:
        # Accept the plain strings users and config files give, keep the enums inside.
        for name, kind in (
            ("approval", ApprovalMode),
            ("streaming", StreamingLevel),
            ("workspace", WorkspaceScope),
        ):
            value = getattr(self, name)
            if not isinstance(value, kind):
                object.__setattr__(self, name, kind.parse(str(value), setting=name))
        if self.provider not in PROVIDERS:
            raise ConfigError(
                f"COLLET_PROVIDER must be one of {'|'.join(PROVIDERS)}, not {self.provider!r}",
                key="provider",
            )
        for name in ("max_iterations", "context_budget", "max_retries"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1", key=name)
        for name in ("tool_timeout", "task_timeout", "request_timeout"):
            if not getattr(self, name) > 0:  # NaN fails this too
                raise ConfigError(f"{name} must be a positive number of seconds", key=name)
        if self.circuit_breaker < 0:
            raise ConfigError("circuit_breaker must be 0 (off) or more", key="circuit_breaker")

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self) if f.repr
        )
        key = "'***'" if self.api_key else "None"
        return f"Settings({shown}, api_key={key})"

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)


FIELD_TYPES: dict[str, type] = {
    "provider": str,
    "base_url": str,
    "model": str,
    "api_key": str,
    "approval": ApprovalMode,
    "streaming": StreamingLevel,
    "workspace": WorkspaceScope,
    "max_iterations": int,
    "tool_timeout": float,
    "task_timeout": float,
    "circuit_breaker": int,
    "session_timeout": float,
    "context_budget": int,
    "home": str,
    "max_retries": int,
    "request_timeout": float,
    "demo_pace": float,
}


def coerce(name: str, value: Any, *, source: str) -> Any:
    """Convert a raw value (env string, TOML value) for setting ``name``.

    Raises:
        ConfigError: naming the setting, the source and what is expected.
    """
    kind = FIELD_TYPES.get(name)
    if kind is None:
        valid = ", ".join(sorted(FIELD_TYPES))
        raise ConfigError(f"unknown setting {name!r} in {source}; valid: {valid}", key=name)
    if kind in (ApprovalMode, StreamingLevel, WorkspaceScope):
        return kind.parse(str(value), setting=f"{name} ({source})")
    if kind is str:
        return str(value)
    try:
        if isinstance(value, bool):
            raise ValueError
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError  # 2.5 iterations is a typo, not 2
        number = kind(value)
        if math.isnan(number):  # no limit or timeout can be NaN
            raise ValueError
        return number
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
        raise ConfigError(
            f"{name} in {source} must be {'an integer' if kind is int else 'a number'}, "
            f"not {value!r}",
            key=name,
        ) from None
