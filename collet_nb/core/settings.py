"""The effective settings of a session: one frozen record, the API key masked in its repr.

Each setting is declared once, as a field of ``Settings`` made with ``setting()``: its type (the
annotation), its default, what it means and whether it is a secret. Everything else is derived
from that declaration (``SETTINGS``): the ``COLLET_<NAME>`` environment variable and the
``config.toml`` key (the config adapter), the ``c.Collet.<name>`` traitlet (``ui/traits.py``) and
the README's table of settings (``scripts/settings_table.py``).

Where values come from (defaults < ~/.collet/config.toml < project config < traitlets <
environment < slash commands) is the config adapter's job; this module only defines the
record, its defaults and validation.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar

from collet_nb.core.kinds import ApprovalMode, StreamingLevel, WorkspaceScope
from collet_nb.errors import ConfigError

PROVIDERS = ("openai", "anthropic", "demo")
IMAGE_MODES = ("auto", "on", "off")
DEFAULT_MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-5", "demo": "demo"}
ENV_PREFIX = "COLLET_"

_T = TypeVar("_T")
_DECLARED = "collet_setting"  # the key of a field's metadata that holds its declaration


@dataclass(frozen=True, kw_only=True)
class _Declared:
    """What ``setting()`` stores in a field's metadata (see ``SettingSpec`` for the fields)."""

    help: str
    secret: bool = False
    choices: tuple[str, ...] = ()
    unit: str = ""
    shown: str | None = None


def setting(
    default: _T,
    help: str,
    *,
    secret: bool = False,
    choices: tuple[str, ...] = (),
    unit: str = "",
    shown: str | None = None,
) -> _T:
    """Declare a field of ``Settings`` (the one place a setting is declared).

    Args:
        default: the default value.
        help: what the setting means, in Markdown (backticks allowed, no ``|``).
        secret: never shown: masked in reprs, its traitlet never echoes a value.
        choices: the valid values of a string setting (an enum's are found by its type).
        unit: the unit of a number, shown after its default (``s``).
        shown: the default as users see it, when the field's default is not the whole story.
    """
    meta = {_DECLARED: _Declared(help=help, secret=secret, choices=choices, unit=unit, shown=shown)}
    return field(default=default, repr=not secret, metadata=meta)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a session needs to know about its configuration.

    Attributes mirror the COLLET_* environment variables of docs/design.md; each is declared
    here once (see ``setting``), and ``SETTINGS`` lists them.
    """

    provider: str = setting(
        "demo",
        "the model service",
        choices=PROVIDERS,
        shown="`demo` when no key or base URL is set",
    )
    base_url: str | None = setting(
        None,
        "any OpenAI-compatible server: Ollama `http://localhost:11434/v1`, vLLM, LM Studio",
        shown="provider's",
    )
    model: str = setting("demo", "the model name", shown="provider's")
    api_key: str | None = setting(
        None,
        "the provider's key: never printed, logged or journaled",
        secret=True,
        shown="`OPENAI_API_KEY` / `ANTHROPIC_API_KEY`",
    )
    # setting() returns a dataclasses.field (RUF009 cannot tell); the enums are immutable.
    approval: ApprovalMode = setting(ApprovalMode.AUTO, "which tool calls ask you first")  # noqa: RUF009
    streaming: StreamingLevel = setting(StreamingLevel.FULL, "how much of a turn the views show")  # noqa: RUF009
    workspace: WorkspaceScope = setting(WorkspaceScope.PROJECT, "where the file tools may reach")  # noqa: RUF009
    max_iterations: int = setting(50, "model requests per message")
    tool_timeout: float = setting(120.0, "per tool call (MCP calls too)", unit="s")
    task_timeout: float = setting(600.0, "per turn", unit="s")
    circuit_breaker: int = setting(3, "tool failures in a row that stop the turn (0: off)")
    session_timeout: float = setting(
        24 * 3600.0,
        "idle time before a session is evicted (it reopens from its journal)",
        unit="s",
        shown="24 h",
    )
    context_budget: int = setting(128_000, "context tokens (compaction at 80 %)")
    home: str = setting(
        "~/.collet",
        "journals `sessions/<id>.jsonl`, saved cell answers `cells/`, MCP logs `logs/`",
    )
    max_retries: int = setting(4, "retries of a failed model request, after its first attempt")
    request_timeout: float = setting(
        30.0, "longest silence from the model, before its reply or between chunks", unit="s"
    )
    retry_budget: float = setting(
        30.0, "time one model request may spend failing and waiting to retry", unit="s"
    )
    demo_pace: float = setting(0.02, "pause between the demo model's streamed pieces", unit="s")
    images: str = setting(
        "auto",
        "images to the model as images: `auto` sends them and falls back to their description "
        "once the model refuses images, `on` always sends them, `off` only describes them",
        choices=IMAGE_MODES,
    )

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
        if self.images not in IMAGE_MODES:
            raise ConfigError(
                f"COLLET_IMAGES must be one of {'|'.join(IMAGE_MODES)}, not {self.images!r}",
                key="images",
            )
        for name in ("max_iterations", "context_budget"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1", key=name)
        if self.max_retries < 0:
            raise ConfigError("max_retries must be 0 (no retry) or more", key="max_retries")
        for name in ("tool_timeout", "task_timeout", "request_timeout", "retry_budget"):
            if not getattr(self, name) > 0:  # NaN fails this too
                raise ConfigError(f"{name} must be a positive number of seconds", key=name)
        if self.circuit_breaker < 0:
            raise ConfigError("circuit_breaker must be 0 (off) or more", key="circuit_breaker")

    def __repr__(self) -> str:
        fields = dataclasses.fields(self)
        shown = [f"{f.name}={getattr(self, f.name)!r}" for f in fields if f.repr]
        # Secrets (repr=False) come last, masked: only whether one is set shows.
        masked = [
            f"{f.name}={'***' if getattr(self, f.name) else None!r}" for f in fields if not f.repr
        ]
        return f"Settings({', '.join(shown + masked)})"

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, kw_only=True)
class SettingSpec:
    """One setting as users meet it, derived from its field of ``Settings``.

    Attributes:
        name: the field, the ``config.toml`` key and the ``c.Collet`` trait.
        env: the environment variable (``COLLET_<NAME>``).
        type: what a raw value is converted to (``str``, ``int``, ``float`` or an enum).
        default: the field's default.
        help: what it means (Markdown).
        secret: never shown (masked in reprs; a traitlet that echoes no value).
        choices: the valid values, when there are few.
        unit: the unit of a number (``s``), or "".
        shown: the default as the README shows it.
    """

    name: str
    env: str
    type: type
    default: Any
    help: str
    secret: bool
    choices: tuple[str, ...]
    unit: str
    shown: str


def _base_type(hint: Any) -> type:
    """``str`` for ``str | None``; the annotation itself otherwise."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        kinds = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(kinds) != 1:
            raise TypeError(f"a setting has one type besides None, not {hint!r}")
        hint = kinds[0]
    if not isinstance(hint, type):
        raise TypeError(f"a setting's type must be a class, not {hint!r}")
    return hint


def _shown_default(value: Any, unit: str) -> str:
    """A default as the README shows it: `text`, 128,000, 120 s, — (none)."""
    if value is None:
        return "—"
    if isinstance(value, Enum):
        return f"`{value.value}`"
    if isinstance(value, str):
        return f"`{value}`"
    number = f"{value:,}" if isinstance(value, int) else f"{value:g}"
    return f"{number} {unit}" if unit else number


def _specs() -> tuple[SettingSpec, ...]:
    hints = typing.get_type_hints(Settings)
    specs = []
    for f in dataclasses.fields(Settings):
        declared = f.metadata.get(_DECLARED)
        if not isinstance(declared, _Declared):
            raise TypeError(f"Settings.{f.name} must be declared with setting()")
        kind = _base_type(hints[f.name])
        choices = declared.choices
        if not choices and issubclass(kind, Enum):
            choices = tuple(str(member.value) for member in kind)
        specs.append(
            SettingSpec(
                name=f.name,
                env=ENV_PREFIX + f.name.upper(),
                type=kind,
                default=f.default,
                help=declared.help,
                secret=declared.secret,
                choices=choices,
                unit=declared.unit,
                shown=declared.shown or _shown_default(f.default, declared.unit),
            )
        )
    return tuple(specs)


SETTINGS: tuple[SettingSpec, ...] = _specs()
"""Every setting, in the order of the fields of ``Settings``."""

FIELD_TYPES: dict[str, type] = {spec.name: spec.type for spec in SETTINGS}
SECRETS: frozenset[str] = frozenset(spec.name for spec in SETTINGS if spec.secret)


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
