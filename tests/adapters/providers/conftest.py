"""Fixtures for the provider tests: run one streamed request against the loopback server."""

from __future__ import annotations

import asyncio
import re
import socket
import time
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
    RetryChunk,
    TextChunk,
    ToolCallChunk,
    UsageChunk,
)
from collet_nb.errors import ProviderError

# Tiny waits keep retries fast; the retry cap and budget stay the production defaults.
FAST = {"retry_wait_initial": 0.001, "retry_wait_max": 0.01, "retry_wait_jitter": 0.0}
BOUND = 20.0  # no test waits longer than this for a reply


@dataclass
class Talk:
    """What one request produced: every chunk, the error that ended it, if any, and how many
    seconds it took."""

    chunks: list[ProviderChunk] = field(default_factory=list)
    error: ProviderError | None = None
    elapsed: float = 0.0

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
    def retries(self) -> list[RetryChunk]:
        return [c for c in self.chunks if isinstance(c, RetryChunk)]

    @property
    def waits(self) -> list[float]:
        return [c.wait_s for c in self.retries]

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
    """``talk(kind, base_url, request=None, fast=True, **provider_options) -> Talk``; ``fast``
    shrinks the backoffs (``fast=False`` keeps every production default)."""

    def run(
        kind: str,
        base_url: str,
        request: ModelRequest | None = None,
        fast: bool = True,
        **options: Any,
    ) -> Talk:
        async def go() -> Talk:
            result = Talk()
            settings: dict[str, Any] = {"api_key": "sk-test-key", "trust_env": False}
            if fast:
                settings.update(FAST)
            settings.update(options)
            provider = make_provider(kind, base_url=base_url, model="fake-model", **settings)
            started = time.monotonic()
            try:
                async for chunk in provider.stream(request or user("hello")):
                    result.chunks.append(chunk)
            except ProviderError as exc:
                result.error = exc
            finally:
                result.elapsed = time.monotonic() - started
                await provider.aclose()
            return result

        return asyncio.run(asyncio.wait_for(go(), BOUND))

    return run


def free_port_url() -> str:
    """A loopback URL nothing listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


# What a message may tell the reader to do.
TO_DO = re.compile(r"COLLET_[A-Z_]+|/compact|/model|try again|send a JSON object|ask for", re.I)
# Doubled or misplaced punctuation (". (" is a sentence ended before its own remark).
DOUBLED = re.compile(r"[.,;:?!]\.|\.,|\. \.|\. \(| [.)]|\( |\(\(|\)\)|  ")


def check_readable(message: str, *, ends: bool = True, secrets: tuple[str, ...] = ()) -> None:
    """An error message reads well: one line of at most two screen lines, no doubled
    punctuation, no raw HTML, none of ``secrets``, and something to do."""
    assert "\n" not in message
    assert len(message) <= 480, len(message)  # two lines of a wide cell
    doubled = DOUBLED.search(message)
    assert doubled is None, doubled.group()
    assert not re.search(r"<[a-zA-Z!/][^>]*>", message), "raw HTML"
    for key in secrets:
        assert key not in message
    assert TO_DO.search(message), "says nothing to do"
    if ends:
        assert message.endswith((".", "?", "!")), "no end"
        assert not message.endswith(("..", "?.", "!.")), "ends twice"
