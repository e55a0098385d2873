"""Provider-neutral conversation records: chat messages, tool calls, tool specs, usage.

Adapters translate these to and from each wire format; the loop and the context budget only
ever see these.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from collet_nb.core.images import Image

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, kw_only=True)
class ToolCall:
    """A tool call the model asked for.

    Attributes:
        id: the provider's call id (pairs the call with its result).
        name: the tool's name.
        arguments: the arguments exactly as the model sent them (JSON text, maybe invalid).
    """

    id: str
    name: str
    arguments: str = "{}"

    def parsed_arguments(self) -> dict[str, Any]:
        """Decode ``arguments``.

        Raises:
            ValueError: with a message fit for the model when the text is not a JSON object.
        """
        text = self.arguments.strip() or "{}"
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"arguments of {self.name} are not valid JSON ({exc.msg} at char {exc.pos}); "
                "send a JSON object matching the tool's schema"
            ) from None
        if not isinstance(value, dict):
            raise ValueError(
                f"arguments of {self.name} must be a JSON object, not {type(value).__name__}"
            )
        return value


@dataclass(frozen=True, kw_only=True)
class ChatMessage:
    """One entry of the conversation sent to the model.

    Attributes:
        role: ``user``, ``assistant`` or ``tool`` (the system prompt lives apart).
        content: the text.
        tool_calls: calls an assistant message asks for.
        tool_call_id: for a ``tool`` message, the call it answers.
        name: for a ``tool`` message, the tool's name.
        is_error: for a ``tool`` message, whether the tool failed.
        images: images that go with the text (a plot a user attached, an image a tool
            returned); a provider sends them as image parts where the model takes images.
    """

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False
    images: tuple[Image, ...] = ()

    def text_with_images(self) -> str:
        """The text, each image described on a line of its own: what a model without
        images reads."""
        if not self.images:
            return self.content
        lines = "\n".join(image.describe() for image in self.images)
        return f"{self.content}\n{lines}" if self.content else lines

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for the journal)."""
        data: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            data["tool_calls"] = [
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.tool_calls
            ]
        if self.tool_call_id is not None:
            data["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            data["name"] = self.name
        if self.is_error:
            data["is_error"] = True
        if self.images:
            data["images"] = [image.to_dict() for image in self.images]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatMessage:
        """Inverse of :meth:`to_dict`."""
        calls = tuple(
            ToolCall(id=str(c["id"]), name=str(c["name"]), arguments=str(c.get("arguments", "{}")))
            for c in data.get("tool_calls", ())
        )
        return cls(
            role=data["role"],
            content=str(data.get("content", "")),
            tool_calls=calls,
            tool_call_id=data.get("tool_call_id"),
            name=data.get("name"),
            is_error=bool(data.get("is_error", False)),
            images=tuple(Image.from_dict(i) for i in data.get("images", ())),
        )


@dataclass(frozen=True, kw_only=True)
class ToolSpec:
    """A tool as the model sees it.

    Attributes:
        name: the tool's name (``file_read``, ``mcp__time__now`` …).
        description: what it does, for the model.
        parameters: its JSON schema (an ``object`` schema).
        read_only: whether it never changes anything (decides approval in ``auto`` mode).
    """

    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    read_only: bool = False


@dataclass(frozen=True, kw_only=True)
class ToolResult:
    """What a tool call produced, as the model will read it.

    Attributes:
        call_id: the call this answers.
        name: the tool's name.
        content: the text for the model.
        is_error: whether the call failed (the model is told, the turn goes on).
        images: images the tool returned (an MCP tool's plot, a cell's figure).
    """

    call_id: str
    name: str
    content: str
    is_error: bool = False
    images: tuple[Image, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Usage:
    """Token counts a provider reported for one request."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
