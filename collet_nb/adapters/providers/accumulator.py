"""Turns OpenAI-style chat-completion chunks into provider chunks, tolerating real backends'
quirks (Ollama, vLLM, llama.cpp, LM Studio, OpenRouter). Pure: no I/O."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from collet_nb.core.chat import ToolCall, Usage
from collet_nb.core.ports import (
    ProviderChunk,
    ReasoningChunk,
    TextChunk,
    ToolCallChunk,
    UsageChunk,
)


def default_call_id(number: int) -> str:
    """The id given to a call the server sent without one."""
    return f"call_{number}"


@dataclass
class _Slot:
    index: int
    id: str | None
    name: str
    parts: list[str] = field(default_factory=list)

    def arguments(self) -> str:
        return "".join(self.parts)

    def looks_complete(self) -> bool:
        text = self.arguments().strip()
        if not text:
            return False
        try:
            json.loads(text)
        except ValueError:
            return False
        return True


class ToolCallAccumulator:
    """Assembles streamed ``tool_calls`` deltas into complete calls.

    Calls are keyed by (index, id): a known id continues its call wherever it appears; a new
    id starts a new call even at an index already used (Ollama sends every call at index 0);
    a delta without an index and with a name starts the next slot, one with only arguments
    continues the latest call. Argument pieces are concatenated as they come.
    """

    def __init__(self, *, new_id: Callable[[int], str] = default_call_id) -> None:
        self._new_id = new_id
        self._slots: list[_Slot] = []
        self._numbered = 0

    @property
    def pending(self) -> bool:
        """Whether calls are waiting to be taken."""
        return bool(self._slots)

    def add(self, delta: Mapping[str, Any]) -> None:
        """Take one entry of a delta's ``tool_calls`` list."""
        raw_index = delta.get("index")
        index = raw_index if _is_int(raw_index) else None
        raw_id = delta.get("id")
        call_id = raw_id if isinstance(raw_id, str) and raw_id else None
        function = delta.get("function")
        if not isinstance(function, Mapping):
            function = {}
        raw_name = function.get("name")
        name = raw_name if isinstance(raw_name, str) else ""
        arguments = _argument_text(function.get("arguments"))

        slot = self._find(index, call_id, name)
        if slot is None:
            if index is None:
                index = max((s.index for s in self._slots), default=-1) + 1
            slot = _Slot(index=index, id=call_id, name=name)
            self._slots.append(slot)
        else:
            if call_id is not None and slot.id is None:
                slot.id = call_id
            if name and not slot.name:
                slot.name = name
        if arguments:
            slot.parts.append(arguments)

    def take(self) -> list[ToolCall]:
        """The calls gathered so far, in arrival order; the accumulator starts afresh."""
        calls: list[ToolCall] = []
        for slot in self._slots:
            arguments = slot.arguments()
            if not slot.name and not arguments.strip():
                continue  # an empty shell some servers send before the real delta
            self._numbered += 1
            calls.append(
                ToolCall(
                    id=slot.id or self._new_id(self._numbered - 1),
                    name=slot.name,
                    # Invalid JSON is passed on untouched: the loop reports it to the model.
                    arguments=arguments if arguments.strip() else "{}",
                )
            )
        self._slots = []
        return calls

    def _find(self, index: int | None, call_id: str | None, name: str) -> _Slot | None:
        found: _Slot | None = None
        if call_id is not None:
            found = next((s for s in reversed(self._slots) if s.id == call_id), None)
            latest = self._latest_at(index) if found is None and index is not None else None
            # An id arriving after the first delta of its call (the slot has none yet).
            if latest is not None and latest.id is None and not latest.parts:
                found = latest
        elif index is None:
            # Without an index, a name opens the next slot; bare arguments continue the last.
            if not name and self._slots:
                found = self._slots[-1]
        else:
            found = self._latest_at(index)
            # No id and the same index: a different name, or a name after complete
            # arguments, can only be the next call of a server that reuses index 0.
            if (
                found is not None
                and name
                and found.name
                and (name != found.name or found.looks_complete())
            ):
                found = None
        return found

    def _latest_at(self, index: int) -> _Slot | None:
        for slot in reversed(self._slots):
            if slot.index == index:
                return slot
        return None


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _argument_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    # Some servers send the arguments as a JSON object instead of its text.
    return json.dumps(value, ensure_ascii=False)


def _usage(value: object) -> Usage | None:
    if not isinstance(value, Mapping):
        return None
    prompt = value.get("prompt_tokens")
    completion = value.get("completion_tokens")
    return Usage(
        prompt_tokens=prompt if isinstance(prompt, int) else 0,
        completion_tokens=completion if isinstance(completion, int) else 0,
    )


def _reasoning(delta: Mapping[str, Any]) -> str:
    # vLLM sends the same text under both names; DeepSeek/llama.cpp use reasoning_content,
    # Ollama/OpenRouter use reasoning. Take one, never both.
    for key in ("reasoning_content", "reasoning"):
        value = delta.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


class ChatCompletionAccumulator:
    """Feeds parsed ``chat.completion.chunk`` objects, yields provider chunks.

    Text and reasoning pass through at once; tool calls are held until ``finish_reason``
    arrives or the stream ends; usage (possibly in a last chunk without choices, as vLLM and
    OpenAI send it) is emitted once, at the end.
    """

    def __init__(self, *, new_id: Callable[[int], str] = default_call_id) -> None:
        self._calls = ToolCallAccumulator(new_id=new_id)
        self._usage: Usage | None = None
        self.finish_reason: str | None = None

    def feed(self, chunk: Mapping[str, Any]) -> list[ProviderChunk]:
        """Take one chunk; return what can be shown now."""
        out: list[ProviderChunk] = []
        usage = _usage(chunk.get("usage"))
        if usage is not None:
            self._usage = usage
        choices = chunk.get("choices")
        if not isinstance(choices, Sequence) or isinstance(choices, str):
            return out
        for choice in choices[:1]:  # n=1: other choices are never asked for
            if not isinstance(choice, Mapping):
                continue
            delta = choice.get("delta")
            if isinstance(delta, Mapping):
                self._delta(delta, out)
            reason = choice.get("finish_reason")
            if isinstance(reason, str) and reason:
                self.finish_reason = reason
                out.extend(ToolCallChunk(call=call) for call in self._calls.take())
        return out

    def whole(self, response: Mapping[str, Any]) -> list[ProviderChunk]:
        """Convert a non-streamed ``chat.completion`` (a server that ignored ``stream``)."""
        out: list[ProviderChunk] = []
        choices = response.get("choices")
        if isinstance(choices, Sequence) and choices and isinstance(choices[0], Mapping):
            message = choices[0].get("message")
            if isinstance(message, Mapping):
                calls = message.get("tool_calls")
                delta = dict(message)
                if isinstance(calls, Sequence) and not isinstance(calls, str):
                    delta["tool_calls"] = [
                        {**call, "index": n}
                        for n, call in enumerate(calls)
                        if isinstance(call, Mapping)
                    ]
                self._delta(delta, out)
            reason = choices[0].get("finish_reason")
            self.finish_reason = reason if isinstance(reason, str) and reason else "stop"
        usage = _usage(response.get("usage"))
        if usage is not None:
            self._usage = usage
        out.extend(self.finish())
        return out

    def finish(self) -> list[ProviderChunk]:
        """The stream ended: emit held tool calls, then usage."""
        out: list[ProviderChunk] = [ToolCallChunk(call=call) for call in self._calls.take()]
        if self._usage is not None:
            out.append(UsageChunk(usage=self._usage))
            self._usage = None
        return out

    def _delta(self, delta: Mapping[str, Any], out: list[ProviderChunk]) -> None:
        reasoning = _reasoning(delta)
        if reasoning:
            out.append(ReasoningChunk(text=reasoning))
        content = delta.get("content")
        if isinstance(content, str) and content:
            out.append(TextChunk(text=content))
        calls = delta.get("tool_calls")
        if isinstance(calls, Sequence) and not isinstance(calls, str):
            for call in calls:
                if isinstance(call, Mapping):
                    self._calls.add(call)
