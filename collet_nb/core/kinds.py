"""The fixed vocabularies of a session: channel ids and the user-switchable modes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

_C = TypeVar("_C", bound="_Choice")


class _Choice(StrEnum):
    """An enum of user-facing string choices with a helpful parser."""

    @classmethod
    def parse(cls: type[_C], value: str, *, setting: str) -> _C:
        """Return the member named ``value`` or raise a ConfigError naming the valid choices."""
        from collet_nb.errors import ConfigError

        try:
            return cls(value.strip().lower())
        except ValueError:
            choices = "|".join(m.value for m in cls)
            raise ConfigError(
                f"{setting} must be one of {choices}, not {value!r}", key=setting
            ) from None


class StreamingLevel(_Choice):
    """How much of a turn the views show: the final answer only, or everything live."""

    COMPACT = "compact"
    FULL = "full"


class WorkspaceScope(_Choice):
    """Where the file tools may reach: the project dir, its parent, or anywhere."""

    PROJECT = "project"
    WORKSPACE = "workspace"
    FULL = "full"


class ApprovalMode(_Choice):
    """Which tool calls ask the user first (see docs/design.md, "Tools the model sees")."""

    YOLO = "yolo"
    AUTO = "auto"
    MANUAL = "manual"


class AgentKind(_Choice):
    """The agent persona of a turn: full tools, plan-only, or answer-only."""

    CODE = "code"
    ARCHITECT = "architect"
    ASK = "ask"


@dataclass(frozen=True, kw_only=True)
class ChannelId:
    """Where a session's messages come from; a notebook is ``("jupyter", <path or kernel id>)``.

    Attributes:
        platform: the front end (``jupyter`` here; collet also knew slack, telegram …).
        channel: the conversation within the platform.
        thread: an optional sub-thread.
    """

    platform: str
    channel: str
    thread: str | None = None

    @classmethod
    def new(cls, platform: str, channel: str, thread: str | None = None) -> ChannelId:
        """Build a channel id positionally, as the seed's ``ChannelId::new`` does."""
        return cls(platform=platform, channel=channel, thread=thread)

    def __str__(self) -> str:
        base = f"{self.platform}:{self.channel}"
        return f"{base}#{self.thread}" if self.thread else base
