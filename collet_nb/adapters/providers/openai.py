"""The OpenAI chat-completions wire protocol (also spoken by Ollama, vLLM, llama.cpp,
LM Studio and OpenRouter): request body and stream decoding."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from json.scanner import make_scanner
from typing import Any, Literal, TypedDict

from collet_nb.adapters.providers.accumulator import ChatCompletionAccumulator, default_call_id
from collet_nb.adapters.providers.wire import SSEEvent, merged
from collet_nb.core.chat import ChatMessage, ToolSpec
from collet_nb.core.images import Image, split_images
from collet_nb.core.ports import ModelRequest, ProviderChunk, TextChunk
from collet_nb.errors import ProviderError, ProviderStreamError

logger = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"

MaxTokensField = Literal["max_tokens", "max_completion_tokens"]


def max_tokens_field_for(base_url: str) -> MaxTokensField:
    """``max_completion_tokens`` for OpenAI's own API (its reasoning models refuse
    ``max_tokens``), ``max_tokens`` for every compatible server."""
    return "max_completion_tokens" if "://api.openai.com" in base_url else "max_tokens"


class OpenAIFunction(TypedDict):
    """A tool's function part."""

    name: str
    description: str
    parameters: dict[str, Any]


class OpenAITool(TypedDict):
    """An entry of ``tools``."""

    type: Literal["function"]
    function: OpenAIFunction


class OpenAICallFunction(TypedDict):
    """The function part of an assistant's tool call."""

    name: str
    arguments: str


class OpenAIToolCall(TypedDict):
    """An assistant's tool call, as sent back in the history."""

    id: str
    type: Literal["function"]
    function: OpenAICallFunction


class OpenAITextPart(TypedDict):
    """A text part of a message's content."""

    type: Literal["text"]
    text: str


class OpenAIImageURL(TypedDict):
    """Where an image part's image is: here a ``data:`` URL."""

    url: str


class OpenAIImagePart(TypedDict):
    """An image part of a user message's content."""

    type: Literal["image_url"]
    image_url: OpenAIImageURL


OpenAIPart = OpenAITextPart | OpenAIImagePart


class _OpenAIMessageBase(TypedDict):
    role: str
    content: str | list[OpenAIPart] | None


class OpenAIMessage(_OpenAIMessageBase, total=False):
    """One entry of ``messages``."""

    tool_calls: list[OpenAIToolCall]
    tool_call_id: str


class StreamOptions(TypedDict):
    """``stream_options``: ask for a last chunk carrying usage."""

    include_usage: bool


class _OpenAIRequestBase(TypedDict):
    model: str
    messages: list[OpenAIMessage]
    stream: bool
    stream_options: StreamOptions


class OpenAIRequest(_OpenAIRequestBase, total=False):
    """The body of ``POST /chat/completions``."""

    tools: list[OpenAITool]
    max_tokens: int
    max_completion_tokens: int


def _wire_arguments(arguments: str) -> str:
    # Some servers (vLLM chat templates) parse the history's arguments and answer 400 on
    # invalid JSON; the model already learns of its mistake from the tool's error result.
    try:
        json.loads(arguments)
    except ValueError:
        return "{}"
    return arguments


def _parts(text: str, images: tuple[Image, ...]) -> list[OpenAIPart]:
    parts: list[OpenAIPart] = [{"type": "text", "text": text}] if text else []
    parts.extend({"type": "image_url", "image_url": {"url": i.data_url}} for i in images)
    return parts


def _with_described(text: str, images: tuple[Image, ...]) -> str:
    lines = [text] if text else []
    lines.extend(image.describe() for image in images)
    return "\n".join(lines)


def _message(message: ChatMessage) -> OpenAIMessage:
    if message.role == "tool":
        sent, described = split_images(message.images)
        text = _with_described(message.content, described)
        if sent:
            # A tool message holds text only: its images follow in a user message.
            text += f"\n[the {len(sent)} image(s) of this result follow in the next message]"
        return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": text}
    if message.images and message.role == "user":
        sent, described = split_images(message.images)
        text = _with_described(message.content, described)
        return {"role": "user", "content": _parts(text, sent) if sent else text}
    if message.role == "assistant" and message.tool_calls:
        return {
            "role": "assistant",
            # null, not "", beside tool calls: what OpenAI itself sends back.
            "content": message.content or None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": _wire_arguments(call.arguments)},
                }
                for call in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content}


def _tool(spec: ToolSpec) -> OpenAITool:
    return {
        "type": "function",
        "function": {
            "name": spec.name,
            "description": spec.description,
            "parameters": spec.parameters,
        },
    }


def openai_body(
    request: ModelRequest, *, model: str, max_tokens_field: MaxTokensField = "max_tokens"
) -> OpenAIRequest:
    """The chat-completions body for ``request``."""
    messages: list[OpenAIMessage] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    # Tool results' images go in one user message after the run of tool messages they belong to
    # (nothing may come between an assistant's tool calls and their results).
    held: list[OpenAIPart] = []
    for message in request.messages:
        if held and message.role != "tool":
            messages.append({"role": "user", "content": held})
            held = []
        messages.append(_message(message))
        if message.role == "tool":
            sent, _ = split_images(message.images)
            if sent:
                intro = f"Images returned by {message.name or 'a tool'} ({message.tool_call_id}):"
                held.extend(_parts(intro, sent))
    if held:
        messages.append({"role": "user", "content": held})
    body: OpenAIRequest = {
        "model": model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if max_tokens_field == "max_completion_tokens":
        body["max_completion_tokens"] = request.max_tokens
    else:
        body["max_tokens"] = request.max_tokens
    if request.tools:
        # Omitted when empty: several local servers reject an empty list.
        body["tools"] = [_tool(spec) for spec in request.tools]
    return body


_RETRYABLE_WORDS = ("server_error", "overload", "rate_limit", "timeout", "unavailable", "internal")


def stream_error(provider: str, error: object) -> ProviderStreamError:
    """The exception for an ``error`` object sent inside the stream."""
    message: object = error
    kind: object = ""
    code: object = None
    if isinstance(error, Mapping):
        message = error.get("message") or error.get("type") or "unknown error"
        kind = error.get("type") or ""
        code = error.get("code")
    if isinstance(code, int) and not isinstance(code, bool):
        retryable = code == 429 or code >= 500
    else:
        words = f"{kind} {code or ''}".lower()
        retryable = any(word in words for word in _RETRYABLE_WORDS)
    return ProviderStreamError(
        f"{provider} reported an error in the middle of the reply: {message}",
        provider=provider,
        retryable=retryable,
    )


def _plain_text(payload: object) -> str | None:
    """The text of a chunk that holds nothing but answer text ("" for none); None for any other
    chunk (usage, reasoning, tool calls, a finish reason, an error), which the accumulator
    reads."""
    if type(payload) is not dict or payload.get("usage") or payload.get("error"):
        return None
    choices = payload.get("choices")
    if type(choices) is not list or len(choices) != 1:
        return None
    choice = choices[0]
    if type(choice) is not dict or choice.get("finish_reason") is not None:
        return None
    delta = choice.get("delta")
    if type(delta) is not dict or not delta.keys() <= _PLAIN_KEYS:
        return None
    content = delta.get("content")
    return content if type(content) is str else None if content is not None else ""


# The C scanner under json.loads, called directly: a chunk's JSON text is read in one call
# (anything it does not read to the end goes the usual way, through ``feed``).
# (typeshed types make_scanner's argument as the scanner class itself, not a decoder)
_scan: Callable[[str, int], tuple[Any, int]] = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
# A delta of only these keys is plain answer text (OpenAI sends ``role`` in the first one).
_PLAIN_KEYS = frozenset({"content", "role"})


class OpenAIStreamDecoder:
    """Decodes one chat-completions SSE stream (see ``StreamDecoder``)."""

    def __init__(
        self, *, provider: str = "openai", new_id: Callable[[int], str] = default_call_id
    ) -> None:
        self._provider = provider
        self._accumulator = ChatCompletionAccumulator(new_id=new_id)
        self._done = False

    @property
    def ended(self) -> bool:
        """Whether ``data: [DONE]`` arrived."""
        return self._done

    def feed(self, event: SSEEvent) -> list[ProviderChunk]:
        """Take one SSE event."""
        data = event.data.strip()
        if not data:
            return []
        if data == "[DONE]":
            self._done = True
            return []
        try:
            payload = json.loads(data)
        except ValueError:
            # A mangled line from a proxy must not cost the whole reply.
            logger.debug("%s: skipped an SSE event that is not JSON: %.200r", self._provider, data)
            return []
        if not isinstance(payload, Mapping):
            return []
        if payload.get("error") or event.event == "error":
            raise stream_error(self._provider, payload.get("error") or payload)
        return self._accumulator.feed(payload)

    def feed_many(self, events: Sequence[SSEEvent]) -> Iterator[ProviderChunk]:
        """Take the events of one batch (see ``StreamDecoder.feed_many``); a chunk that only
        carries answer text (nearly all of them) skips the accumulator."""
        held: list[ProviderChunk] = []
        texts: list[str] = []
        for event in events:
            data = event.data
            if data[:1] == "{" and event.event != "error":
                try:
                    payload, end = _scan(data, 0)
                except (StopIteration, ValueError):
                    payload, end = None, -1
                text = _plain_text(payload) if end == len(data) else None
                if text is not None:
                    if text:
                        texts.append(text)
                    continue
            if texts:
                held.append(TextChunk(text="".join(texts)))
                texts = []
            try:
                held.extend(self.feed(event))
            except ProviderError:
                yield from merged(held)  # what came before the error was shown
                raise
        if texts:
            held.append(TextChunk(text="".join(texts)))
        yield from merged(held)

    def close(self) -> list[ProviderChunk]:
        """The body ended; a reply is complete once ``[DONE]`` or a finish reason came."""
        if not self._done and self._accumulator.finish_reason is None:
            raise ProviderStreamError(
                f"the {self._provider} stream ended before the reply was complete",
                provider=self._provider,
            )
        return self._accumulator.finish()

    def whole(self, payload: Mapping[str, Any]) -> list[ProviderChunk]:
        """Convert a non-streamed ``chat.completion``."""
        if payload.get("error"):
            raise stream_error(self._provider, payload.get("error"))
        return self._accumulator.whole(payload)


class OpenAIWire:
    """The chat-completions protocol (see ``Wire``).

    Args:
        max_tokens_field: ``max_completion_tokens`` for OpenAI's own API (its reasoning
            models refuse ``max_tokens``), ``max_tokens`` for compatible servers.
    """

    name = "openai"
    key_env = "OPENAI_API_KEY"

    def __init__(self, *, max_tokens_field: MaxTokensField = "max_tokens") -> None:
        self.max_tokens_field: MaxTokensField = max_tokens_field
        self._calls = 0

    def url(self, base_url: str) -> str:
        """``{base}/chat/completions``."""
        return f"{base_url}/chat/completions"

    def headers(self, api_key: str | None) -> dict[str, str]:
        """JSON in, SSE out, the key as a bearer token (local servers need none)."""
        headers = {"content-type": "application/json", "accept": "text/event-stream"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        return headers

    def body(self, request: ModelRequest, model: str) -> dict[str, Any]:
        """See :func:`openai_body`."""
        return dict(openai_body(request, model=model, max_tokens_field=self.max_tokens_field))

    def decoder(self) -> OpenAIStreamDecoder:
        """A decoder whose generated call ids stay unique for this provider's lifetime."""
        return OpenAIStreamDecoder(provider=self.name, new_id=self._new_id)

    def _new_id(self, _number: int) -> str:
        # Ids the server left out must not repeat across turns: approvals are keyed by id.
        self._calls += 1
        return default_call_id(self._calls - 1)
