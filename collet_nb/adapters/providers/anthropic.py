"""The Anthropic Messages wire protocol: request body (system apart, tool_use/tool_result
blocks, strict role alternation) and stream decoding."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from collet_nb.adapters.providers.wire import SSEEvent, fed_many
from collet_nb.core.chat import ChatMessage, ToolCall, ToolSpec, Usage
from collet_nb.core.images import Image, split_images
from collet_nb.core.ports import (
    ModelRequest,
    ProviderChunk,
    ReasoningChunk,
    TextChunk,
    ToolCallChunk,
    UsageChunk,
)
from collet_nb.errors import ProviderStreamError

logger = logging.getLogger(__name__)

ANTHROPIC_BASE_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"


class AnthropicTool(TypedDict):
    """An entry of ``tools``."""

    name: str
    description: str
    input_schema: dict[str, Any]


class TextBlock(TypedDict):
    """A text content block."""

    type: Literal["text"]
    text: str


class ToolUseBlock(TypedDict):
    """An assistant's tool call."""

    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


class ImageSource(TypedDict):
    """Where an image block's image is: here inline base64."""

    type: Literal["base64"]
    media_type: str
    data: str


class ImageBlock(TypedDict):
    """An image content block (in a user message or a tool result)."""

    type: Literal["image"]
    source: ImageSource


class _ToolResultBase(TypedDict):
    type: Literal["tool_result"]
    tool_use_id: str


class ToolResultBlock(_ToolResultBase, total=False):
    """A tool's result, sent in a user message."""

    content: str | list[TextBlock | ImageBlock]
    is_error: bool


ContentBlock = TextBlock | ToolUseBlock | ToolResultBlock | ImageBlock


def _image(image: Image) -> ImageBlock:
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": image.mime, "data": image.data},
    }


def _text(text: str, described: tuple[Image, ...]) -> str:
    return "\n".join([text] * bool(text) + [image.describe() for image in described])


class AnthropicMessage(TypedDict):
    """One entry of ``messages``."""

    role: Literal["user", "assistant"]
    content: list[ContentBlock]


class _AnthropicRequestBase(TypedDict):
    model: str
    max_tokens: int
    messages: list[AnthropicMessage]
    stream: bool


class AnthropicRequest(_AnthropicRequestBase, total=False):
    """The body of ``POST /v1/messages``."""

    system: str
    tools: list[AnthropicTool]


def _input(arguments: str) -> dict[str, Any]:
    # ``input`` must be an object; invalid arguments already came back as a tool error.
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _blocks(message: ChatMessage) -> list[ContentBlock]:
    sent, described = split_images(message.images)
    text = _text(message.content, described)
    if message.role == "tool":
        result: ToolResultBlock = {"type": "tool_result", "tool_use_id": message.tool_call_id or ""}
        if sent:
            parts: list[TextBlock | ImageBlock] = [{"type": "text", "text": text}] * bool(text)
            result["content"] = parts + [_image(image) for image in sent]
        elif text:
            result["content"] = text
        if message.is_error:
            result["is_error"] = True
        return [result]
    blocks: list[ContentBlock] = []
    # Anthropic refuses empty or blank text blocks.
    if text.strip():
        blocks.append({"type": "text", "text": text})
    if message.role == "user":
        blocks.extend(_image(image) for image in sent)
    if message.role == "assistant":
        blocks.extend(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": _input(call.arguments)}
            for call in message.tool_calls
        )
    return blocks


def anthropic_messages(messages: Sequence[ChatMessage]) -> tuple[list[AnthropicMessage], str]:
    """Messages in Anthropic's shape, and the text of any ``system`` messages among them.

    Tool results become user messages; consecutive messages of one role merge into one
    (Anthropic wants user and assistant to alternate), with tool results first in a user
    message, as the API requires.
    """
    out: list[AnthropicMessage] = []
    system: list[str] = []
    for message in messages:
        if message.role == "system":
            if message.content.strip():
                system.append(message.content)
            continue
        blocks = _blocks(message)
        if not blocks:
            continue
        role: Literal["user", "assistant"] = "assistant" if message.role == "assistant" else "user"
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    for entry in out:
        if entry["role"] == "user":
            entry["content"].sort(key=lambda block: block["type"] != "tool_result")
    return out, "\n\n".join(system)


def anthropic_body(request: ModelRequest, *, model: str) -> AnthropicRequest:
    """The Messages body for ``request``."""
    messages, extra_system = anthropic_messages(request.messages)
    body: AnthropicRequest = {
        "model": model,
        "max_tokens": request.max_tokens,
        "messages": messages,
        "stream": True,
    }
    system = "\n\n".join(part for part in (request.system, extra_system) if part)
    if system:
        body["system"] = system
    if request.tools:
        body["tools"] = [_tool(spec) for spec in request.tools]
    return body


def _tool(spec: ToolSpec) -> AnthropicTool:
    return {"name": spec.name, "description": spec.description, "input_schema": spec.parameters}


_RETRYABLE_ERRORS = frozenset(
    {"overloaded_error", "api_error", "rate_limit_error", "timeout_error"}
)


def stream_error(provider: str, error: object) -> ProviderStreamError:
    """The exception for an ``error`` event."""
    kind = ""
    message: object = error
    if isinstance(error, Mapping):
        kind = str(error.get("type") or "")
        message = error.get("message") or kind or "unknown error"
    said = str(message).strip().rstrip(" .;,:")
    return ProviderStreamError(
        f"{provider} reported an error in the middle of the reply: {said}"
        + (f" ({kind})" if kind and kind != said else ""),
        provider=provider,
        retryable=kind in _RETRYABLE_ERRORS,
    )


@dataclass
class _Block:
    kind: str
    id: str = ""
    name: str = ""
    parts: list[str] = field(default_factory=list)
    initial_input: object = None

    def call(self) -> ToolCall:
        arguments = "".join(self.parts)
        if not arguments.strip():
            start = self.initial_input
            arguments = json.dumps(start, ensure_ascii=False) if start else "{}"
        return ToolCall(id=self.id, name=self.name, arguments=arguments)


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class AnthropicStreamDecoder:
    """Decodes one Messages SSE stream (see ``StreamDecoder``).

    Text and thinking deltas pass through at once; a tool call is emitted when its block
    stops, with its ``input_json_delta`` pieces joined; usage comes once, at the end.
    """

    def __init__(self, *, provider: str = "anthropic") -> None:
        self._provider = provider
        self._blocks: dict[int, _Block] = {}
        self._prompt = 0
        self._completion = 0
        self._usage_seen = False
        self._stop_reason: str | None = None
        self._done = False

    @property
    def ended(self) -> bool:
        """Whether ``message_stop`` arrived."""
        return self._done

    def feed_many(self, events: Sequence[SSEEvent]) -> Iterator[ProviderChunk]:
        """Take the events of one batch (see ``StreamDecoder.feed_many``)."""
        return fed_many(self.feed, events)

    def feed(self, event: SSEEvent) -> list[ProviderChunk]:
        """Take one SSE event."""
        try:
            payload = json.loads(event.data)
        except ValueError:
            # A mangled line from a proxy must not cost the whole reply.
            logger.debug("%s: skipped a non-JSON SSE event: %.200r", self._provider, event.data)
            payload = None
        if not isinstance(payload, Mapping):
            return []
        kind = payload.get("type") or event.event
        out: list[ProviderChunk] = []
        if kind == "error":
            raise stream_error(self._provider, payload.get("error"))
        if kind == "message_start":
            message = payload.get("message")
            if isinstance(message, Mapping):
                self._take_usage(message.get("usage"))
        elif kind == "content_block_start":
            out = self._start(payload)
        elif kind == "content_block_delta":
            out = self._delta(payload)
        elif kind == "content_block_stop":
            out = self._stop(payload.get("index"))
        elif kind == "message_delta":
            delta = payload.get("delta")
            if isinstance(delta, Mapping) and _str(delta, "stop_reason"):
                self._stop_reason = _str(delta, "stop_reason")
            self._take_usage(payload.get("usage"))
        elif kind == "message_stop":
            self._done = True
            out = self._finish()
        # ping and event kinds added later carry nothing to show.
        return out

    def close(self) -> list[ProviderChunk]:
        """The body ended; a reply is complete once ``message_stop`` or a stop reason came."""
        if self._done:
            return []
        if self._stop_reason is None:
            raise ProviderStreamError(
                f"the {self._provider} stream ended before the reply was complete",
                provider=self._provider,
            )
        return self._finish()

    def whole(self, payload: Mapping[str, Any]) -> list[ProviderChunk]:
        """Convert a non-streamed ``message``."""
        if payload.get("type") == "error":
            raise stream_error(self._provider, payload.get("error"))
        out: list[ProviderChunk] = []
        content = payload.get("content")
        for block in content if isinstance(content, Sequence) else ():
            if not isinstance(block, Mapping):
                continue
            kind = block.get("type")
            if kind == "text" and _str(block, "text"):
                out.append(TextChunk(text=_str(block, "text")))
            elif kind == "thinking" and _str(block, "thinking"):
                out.append(ReasoningChunk(text=_str(block, "thinking")))
            elif kind == "tool_use":
                call = _Block(
                    kind="tool_use",
                    id=str(block.get("id") or ""),
                    name=str(block.get("name") or ""),
                    initial_input=block.get("input"),
                )
                out.append(ToolCallChunk(call=call.call()))
        self._take_usage(payload.get("usage"))
        self._done = True
        if self._usage_seen:
            out.append(UsageChunk(usage=self._usage()))
        return out

    def _start(self, payload: Mapping[str, Any]) -> list[ProviderChunk]:
        index = _int(payload.get("index"))
        block = payload.get("content_block")
        if not isinstance(block, Mapping):
            return []
        kind = str(block.get("type") or "")
        self._blocks[index] = _Block(
            kind=kind,
            id=str(block.get("id") or ""),
            name=str(block.get("name") or ""),
            initial_input=block.get("input"),
        )
        # Blocks usually start empty, but a proxy may put the first text in the start event.
        if kind == "text" and _str(block, "text"):
            return [TextChunk(text=_str(block, "text"))]
        if kind == "thinking" and _str(block, "thinking"):
            return [ReasoningChunk(text=_str(block, "thinking"))]
        return []

    def _delta(self, payload: Mapping[str, Any]) -> list[ProviderChunk]:
        delta = payload.get("delta")
        if not isinstance(delta, Mapping):
            return []
        kind = delta.get("type")
        if kind == "text_delta" and _str(delta, "text"):
            return [TextChunk(text=_str(delta, "text"))]
        if kind == "thinking_delta" and _str(delta, "thinking"):
            return [ReasoningChunk(text=_str(delta, "thinking"))]
        block = self._blocks.get(_int(payload.get("index")))
        if kind == "input_json_delta" and block is not None:
            block.parts.append(_str(delta, "partial_json"))
        return []  # signature_delta and later kinds carry nothing to show

    def _stop(self, index: object) -> list[ProviderChunk]:
        block = self._blocks.pop(_int(index), None)
        if block is None or block.kind != "tool_use":
            return []
        return [ToolCallChunk(call=block.call())]

    def _finish(self) -> list[ProviderChunk]:
        # Tool blocks a proxy never closed are still calls the model made.
        out: list[ProviderChunk] = []
        for index in sorted(self._blocks):
            out.extend(self._stop(index))
        if self._usage_seen:
            out.append(UsageChunk(usage=self._usage()))
            self._usage_seen = False
        return out

    def _take_usage(self, usage: object) -> None:
        if not isinstance(usage, Mapping):
            return
        self._usage_seen = True
        # The prompt is split into fresh and cached parts; all of it fills the context.
        prompt = sum(
            _int(usage.get(key))
            for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        )
        if prompt:
            self._prompt = prompt
        if "output_tokens" in usage:
            self._completion = _int(usage.get("output_tokens"))

    def _usage(self) -> Usage:
        return Usage(prompt_tokens=self._prompt, completion_tokens=self._completion)


class AnthropicWire:
    """The Messages protocol (see ``Wire``)."""

    name = "anthropic"
    key_env = "ANTHROPIC_API_KEY"

    def url(self, base_url: str) -> str:
        """``{base}/v1/messages`` (a base already ending in /v1 is accepted)."""
        root = base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url
        return f"{root}/v1/messages"

    def headers(self, api_key: str | None) -> dict[str, str]:
        """The key in ``x-api-key`` and the pinned API version."""
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream",
            "anthropic-version": ANTHROPIC_VERSION,
        }
        if api_key:
            headers["x-api-key"] = api_key
        return headers

    def body(self, request: ModelRequest, model: str) -> dict[str, Any]:
        """See :func:`anthropic_body`."""
        return dict(anthropic_body(request, model=model))

    def decoder(self) -> AnthropicStreamDecoder:
        """A fresh decoder."""
        return AnthropicStreamDecoder(provider=self.name)
