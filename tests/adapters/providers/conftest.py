"""Fixtures for the provider tests: run one streamed request against the loopback server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from collet_nb.adapters.providers import make_provider
from collet_nb.core.chat import ChatMessage, ToolCall, Usage
from collet_nb.core.ports import (
    ModelRequest,
    ProviderChunk,
    ReasoningChunk,
    RestartChunk,
    TextChunk,
    ToolCallChunk,
    UsageChunk,
)
from collet_nb.errors import ProviderError

# Tiny waits keep retries fast; the attempt cap stays the production default.
FAST = {"retry_wait_initial": 0.001, "retry_wait_max": 0.01, "retry_wait_jitter": 0.0}
BOUND = 20.0  # no test waits longer than this for a reply


@dataclass
class Talk:
    """What one request produced: every chunk, and the error that ended it, if any."""

    chunks: list[ProviderChunk] = field(default_factory=list)
    error: ProviderError | None = None

    def _after_restart(self) -> list[ProviderChunk]:
        last = max(
            (i for i, c in enumerate(self.chunks) if isinstance(c, RestartChunk)), default=-1
        )
        return self.chunks[last + 1 :]

    @property
    def text(self) -> str:
        return "".join(c.text for c in self._after_restart() if isinstance(c, TextChunk))

    @property
    def reasoning(self) -> str:
        return "".join(c.text for c in self._after_restart() if isinstance(c, ReasoningChunk))

    @property
    def calls(self) -> list[ToolCall]:
        return [c.call for c in self._after_restart() if isinstance(c, ToolCallChunk)]

    @property
    def restarts(self) -> list[RestartChunk]:
        return [c for c in self.chunks if isinstance(c, RestartChunk)]

    @property
    def usage(self) -> list[Usage]:
        return [c.usage for c in self.chunks if isinstance(c, UsageChunk)]


def user(text: str) -> ModelRequest:
    return ModelRequest(
        model="fake-model", system="be brief", messages=(ChatMessage(role="user", content=text),)
    )


Talker = Callable[..., Talk]


@pytest.fixture
def talk() -> Talker:
    """``talk(kind, base_url, request=None, **provider_options) -> Talk``."""

    def run(kind: str, base_url: str, request: ModelRequest | None = None, **options: Any) -> Talk:
        async def go() -> Talk:
            result = Talk()
            settings: dict[str, Any] = {"api_key": "sk-test-key", "trust_env": False, **FAST}
            settings.update(options)
            provider = make_provider(kind, base_url=base_url, model="fake-model", **settings)
            try:
                async for chunk in provider.stream(request or user("hello")):
                    result.chunks.append(chunk)
            except ProviderError as exc:
                result.error = exc
            finally:
                await provider.aclose()
            return result

        return asyncio.run(asyncio.wait_for(go(), BOUND))

    return run
