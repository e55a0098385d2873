"""The offline demo model: deterministic scripts (package data) streamed like a real model.

It answers the teaching notebooks' prompts with real tool calls, so tools, approvals, plans
and the queue are all exercised without a key or a network; anything else gets a short note
on configuring a real provider.
"""

from __future__ import annotations

import asyncio
import json
import re
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

from collet_nb.core.chat import ToolCall, Usage
from collet_nb.core.context import estimate_tokens, message_tokens
from collet_nb.core.ports import (
    ModelRequest,
    ProviderChunk,
    TextChunk,
    ToolCallChunk,
    UsageChunk,
)
from collet_nb.errors import ProviderHTTPError

# Words per streamed piece: small enough to look live, large enough to keep traffic low.
WORDS_PER_CHUNK = 3


@dataclass(frozen=True, kw_only=True)
class Step:
    """One reply of a script: text, then tool calls."""

    text: str
    tool_calls: tuple[tuple[str, dict[str, Any]], ...] = ()


@dataclass(frozen=True, kw_only=True)
class Script:
    """A scripted conversation the demo model plays when its prompt matches.

    ``pace_factor`` stretches the provider's pace for this script (a slow answer leaves time
    to send more messages while it streams).
    """

    name: str
    match: tuple[str, ...]
    steps: tuple[Step, ...]
    fail_first: str = ""
    pace_factor: float = 1.0

    def matches(self, text: str) -> bool:
        """Whether ``text`` contains any of the match phrases (case-insensitive)."""
        lowered = text.lower()
        return any(m.lower() in lowered for m in self.match)


def load_scripts(text: str | None = None) -> tuple[tuple[Script, ...], str]:
    """Parse scripts (default: the packaged ``demo_scripts.toml``); return (scripts, fallback)."""
    if text is None:
        text = (
            resources.files("collet_nb.adapters")
            .joinpath("demo_scripts.toml")
            .read_text(encoding="utf-8")
        )
    data = tomllib.loads(text)
    scripts = tuple(
        Script(
            name=s["name"],
            match=tuple(s["match"]),
            fail_first=s.get("fail_first", ""),
            pace_factor=float(s.get("pace_factor", 1.0)),
            steps=tuple(
                Step(
                    text=step.get("text", "").strip("\n"),
                    tool_calls=tuple(
                        (c["name"], dict(c.get("arguments", {})))
                        for c in step.get("tool_calls", ())
                    ),
                )
                for step in s["step"]
            ),
        )
        for s in data.get("script", ())
    )
    return scripts, str(data.get("fallback", "")).strip("\n")


def pieces(text: str) -> list[str]:
    """Split ``text`` into streamable pieces of a few words, whitespace kept."""
    tokens = re.findall(r"\S+\s*|\s+", text)
    return [
        "".join(tokens[i : i + WORDS_PER_CHUNK]) for i in range(0, len(tokens), WORDS_PER_CHUNK)
    ]


class DemoProvider:
    """A scripted model behind the Provider port.

    Args:
        pace: seconds between streamed pieces (0 in tests; ≈0.02 looks like a fast model).
        scripts: the scripts to play (default: the packaged ones).
        fallback: the answer to prompts no script matches.
    """

    def __init__(
        self,
        *,
        pace: float = 0.02,
        scripts: tuple[Script, ...] | None = None,
        fallback: str | None = None,
    ) -> None:
        default_scripts, default_fallback = load_scripts()
        self.pace = pace
        self.scripts = default_scripts if scripts is None else scripts
        self.fallback = default_fallback if fallback is None else fallback
        self._failed_once: set[str] = set()

    @property
    def name(self) -> str:
        """Always ``demo``."""
        return "demo"

    def __repr__(self) -> str:
        return f"DemoProvider(pace={self.pace}, scripts={len(self.scripts)})"

    def _choose(self, request: ModelRequest) -> tuple[Step, int, float]:
        users = [i for i, m in enumerate(request.messages) if m.role == "user"]
        last = users[-1] if users else -1
        prompt = request.messages[last].content if users else ""
        replies = sum(1 for m in request.messages[last + 1 :] if m.role == "assistant")
        script = next((s for s in self.scripts if s.matches(prompt)), None)
        if script is None:
            return Step(text=self.fallback), replies, self.pace
        if script.fail_first and prompt not in self._failed_once:
            self._failed_once.add(prompt)
            raise ProviderHTTPError(script.fail_first, provider="demo", status=503)
        pace = self.pace * script.pace_factor
        if replies >= len(script.steps):
            return Step(text="Done."), replies, pace
        return script.steps[replies], replies, pace

    async def stream(self, request: ModelRequest) -> AsyncIterator[ProviderChunk]:
        """Play the matching script's next step."""
        step, index, pace = self._choose(request)
        for piece in pieces(step.text):
            if pace:
                await asyncio.sleep(pace)
            else:
                await asyncio.sleep(0)  # stay cancellable even at full speed
            yield TextChunk(text=piece)
        for n, (name, arguments) in enumerate(step.tool_calls):
            learned = {key: learn(value, request) for key, value in arguments.items()}
            yield ToolCallChunk(
                call=ToolCall(id=f"demo_{index}_{n}", name=name, arguments=json.dumps(learned))
            )
        prompt = estimate_tokens(request.system) + sum(message_tokens(m) for m in request.messages)
        yield UsageChunk(
            usage=Usage(prompt_tokens=prompt, completion_tokens=estimate_tokens(step.text))
        )


def learn(value: Any, request: ModelRequest) -> Any:
    """An argument as the script gives it; ``{from_result = REGEX}`` is what the model learned
    from the latest tool result: REGEX's first group there (a cell id a tool named), or ``""``
    when it does not match (the tool then says what is wrong)."""
    if not isinstance(value, dict) or set(value) != {"from_result"}:
        return value
    results = [m.content for m in request.messages if m.role == "tool"]
    found = re.search(str(value["from_result"]), results[-1]) if results else None
    return found.group(1) if found else ""
