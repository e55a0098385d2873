"""What an MCP server asks the session's model (``sampling/createMessage``), as a person judges
it before allowing it: the server, the prompt's messages, the system prompt, the token cap (pure).

A sampling request goes through the approval gate as a pseudo tool call named
``sampling:<server>`` (so "Allow for session" and a policy's ``allow`` / ``deny`` patterns work
per server); its preview is of kind ``sampling`` (docs/protocol.md, "Previews").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from collet_nb.core.chat import ChatMessage, ToolCall, ToolSpec
from collet_nb.core.images import Image

PREFIX = "sampling:"
# Most tokens a server may ask the session's model for at once, whatever its maxTokens says.
MAX_TOKENS = 8192
# Characters of each message kept in the preview (the model gets all of it).
PREVIEW_CHARS = 4_000


@dataclass(frozen=True, kw_only=True)
class SampledMessage:
    """One message of a sampling request: ``user`` or ``assistant``, as text, and its images
    (image parts for a model that takes images; audio is described in the text)."""

    role: Literal["user", "assistant"]
    text: str
    images: tuple[Image, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SamplingRequest:
    """What a server asks the session's model.

    Attributes:
        server: the server's name in mcp.json.
        messages: the conversation to continue.
        max_tokens: the most tokens the server wants back.
        system_prompt: its system prompt ("" when none).
        temperature: as asked (None: the provider's default).
        stop_sequences: where the reply should stop.
        model_hints: the model names the server prefers (advisory; the session's model answers).
    """

    server: str
    messages: tuple[SampledMessage, ...]
    max_tokens: int
    system_prompt: str = ""
    temperature: float | None = None
    stop_sequences: tuple[str, ...] = ()
    model_hints: tuple[str, ...] = ()

    @property
    def tool_name(self) -> str:
        """The name it is approved under: ``sampling:<server>``."""
        return f"{PREFIX}{self.server}"

    @property
    def token_cap(self) -> int:
        """The tokens asked for, at most ``MAX_TOKENS`` (and at least 1)."""
        return max(1, min(self.max_tokens, MAX_TOKENS))

    def chat(self) -> tuple[ChatMessage, ...]:
        """The messages as the provider takes them."""
        return tuple(
            ChatMessage(role=m.role, content=m.text, images=m.images if m.role == "user" else ())
            for m in self.messages
        )

    def call(self, call_id: str) -> ToolCall:
        """The pseudo tool call the approval gate judges."""
        arguments = {"server": self.server, "max_tokens": self.token_cap,
                     "messages": len(self.messages)}  # fmt: skip
        return ToolCall(id=call_id, name=self.tool_name, arguments=json.dumps(arguments))

    def spec(self) -> ToolSpec:
        """Its spec for the gate: it asks in ``auto`` (a model request a server wants is never
        read-only: it spends the person's tokens)."""
        return ToolSpec(
            name=self.tool_name,
            description=f"MCP server {self.server!r} asks the session's model to answer",
        )

    def preview(self, model: str) -> dict[str, Any]:
        """The ``sampling`` preview: who asks, what the model will read, how much it may say,
        and which model answers."""
        return {
            "kind": "sampling",
            "server": self.server,
            "system_prompt": _cut(self.system_prompt),
            "messages": [{"role": m.role, "text": _cut(m.text)} for m in self.messages],
            "max_tokens": self.token_cap,
            "model": model,
        }


@dataclass(frozen=True, kw_only=True)
class SamplingReply:
    """The model's answer to a server: its text, the model that wrote it, why it stopped
    (``endTurn`` or ``maxTokens``)."""

    text: str
    model: str
    stop_reason: str = "endTurn"


def _cut(text: str) -> str:
    if len(text) <= PREVIEW_CHARS:
        return text
    return f"{text[:PREVIEW_CHARS]}… ({len(text) - PREVIEW_CHARS:,} more characters)"


def sampling_summary(preview: dict[str, Any]) -> str:
    """One line for text views: ``MCP server 'x' asks the model (2 messages, up to 100
    tokens): "…"``."""
    messages = preview.get("messages") or []
    last = str(messages[-1].get("text", "")) if messages else ""
    flat = " ".join(last.split())
    shown = flat if len(flat) <= 60 else flat[:59] + "…"
    count = f"{len(messages)} message{'s' if len(messages) != 1 else ''}"
    return (
        f"MCP server {preview.get('server')!r} asks the model ({count}, up to "
        f"{preview.get('max_tokens')} tokens): {json.dumps(shown, ensure_ascii=False)}"
    )
