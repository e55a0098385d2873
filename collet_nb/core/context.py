"""The conversation context and its token budget: estimate, calibrate, compact, repair.

Tokens are estimated as UTF-8 bytes / 3.5 plus a per-message overhead (no tokenizer package
works offline); when a provider reports real usage the estimate is scaled to match. At 0.8 of
the budget the oldest exchanges are folded into one summary message, never splitting a tool
call from its result.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from collet_nb.core.chat import ChatMessage, ToolSpec

BYTES_PER_TOKEN = 3.5
MESSAGE_OVERHEAD = 4
COMPACT_AT = 0.8
# After compaction the kept tail fills at most this share of the budget, so the next
# compaction is several turns away rather than one message away.
COMPACT_TO = 0.5
SUMMARY_SNIPPET = 160


def estimate_tokens(text: str) -> int:
    """Estimated tokens of ``text`` (bytes / 3.5, rounded up)."""
    return math.ceil(len(text.encode("utf-8", "surrogatepass")) / BYTES_PER_TOKEN)


def message_tokens(message: ChatMessage) -> int:
    """Estimated tokens of one message, tool calls and images included."""
    total = MESSAGE_OVERHEAD + estimate_tokens(message.content)
    total += sum(image.tokens() for image in message.images)
    for call in message.tool_calls:
        total += MESSAGE_OVERHEAD + estimate_tokens(call.name) + estimate_tokens(call.arguments)
    return total


def tools_tokens(tools: tuple[ToolSpec, ...]) -> int:
    """Estimated tokens the tool schemas add to a request."""
    return sum(
        MESSAGE_OVERHEAD + estimate_tokens(t.name + t.description + repr(t.parameters))
        for t in tools
    )


@dataclass(frozen=True, kw_only=True)
class Compaction:
    """What a compaction did."""

    tokens_before: int
    tokens_after: int
    messages_removed: int
    summary: ChatMessage


def group_units(messages: list[ChatMessage]) -> list[list[ChatMessage]]:
    """Split messages into units that must stay together.

    An assistant message that calls tools and the tool results answering it form one unit;
    every other message is a unit of its own.
    """
    units: list[list[ChatMessage]] = []
    open_calls: set[str] = set()
    for message in messages:
        if message.role == "tool" and units and message.tool_call_id in open_calls:
            units[-1].append(message)
            open_calls.discard(message.tool_call_id or "")
            continue
        units.append([message])
        open_calls = {c.id for c in message.tool_calls} if message.role == "assistant" else set()
    return units


def summarise(removed: list[ChatMessage]) -> ChatMessage:
    """A deterministic summary of removed messages: the user's asks and the tools used."""
    asks = [m.content.strip().replace("\n", " ") for m in removed if m.role == "user"]
    tools = sorted({c.name for m in removed for c in m.tool_calls})
    lines = [f"[Earlier conversation compacted: {len(removed)} messages removed.]"]
    if asks:
        lines.append("The user had asked:")
        lines.extend(f"- {a[:SUMMARY_SNIPPET]}" for a in asks)
    if tools:
        lines.append("Tools used: " + ", ".join(tools) + ".")
    last_answer = next(
        (m.content for m in reversed(removed) if m.role == "assistant" and m.content), ""
    )
    if last_answer:
        lines.append("Last answer began: " + last_answer.strip()[:SUMMARY_SNIPPET])
    return ChatMessage(role="user", content="\n".join(lines))


class ConversationContext:
    """The messages of a session's conversation and their budget.

    Args:
        system_prompt: sent apart from the messages, counted in the budget.
        budget: the context window to stay within, in tokens.
        threshold: the share of the budget at which compaction triggers.
    """

    def __init__(self, *, system_prompt: str, budget: int, threshold: float = COMPACT_AT) -> None:
        if budget < 1:
            raise ValueError("the context budget must be at least 1 token")
        self.system_prompt = system_prompt
        self.budget = budget
        self.threshold = threshold
        self.messages: list[ChatMessage] = []
        self.calibration = 1.0
        # Told of every change as a JSON-ready op, so a journal can rebuild the context exactly.
        self.on_change: Callable[[dict[str, Any]], None] | None = None

    def _changed(self, op: dict[str, Any]) -> None:
        if self.on_change is not None:
            self.on_change(op)

    def append(self, message: ChatMessage) -> None:
        """Add a message at the end."""
        self.messages.append(message)
        self._changed({"op": "append", "message": message.to_dict()})

    def apply(self, op: dict[str, Any]) -> None:
        """Replay one op recorded through ``on_change`` (the listener is not called)."""
        kind = op.get("op")
        if kind == "append":
            self.messages.append(ChatMessage.from_dict(op["message"]))
        elif kind == "compact":
            removed = int(op["removed"])
            self.messages = [ChatMessage.from_dict(op["summary"]), *self.messages[removed:]]
        elif kind == "truncate":
            del self.messages[int(op["length"]) :]
        else:
            raise ValueError(f"unknown context op {kind!r}")

    def estimated(self) -> int:
        """Raw estimate of the system prompt plus all messages."""
        return estimate_tokens(self.system_prompt) + sum(message_tokens(m) for m in self.messages)

    def used(self) -> int:
        """Tokens in use, scaled by what the provider has reported."""
        return math.ceil(self.estimated() * self.calibration)

    def calibrate(self, *, reported: int, estimated: int) -> None:
        """Scale future estimates so that ``estimated`` would have read ``reported``.

        The ratio is clamped to [0.25, 4] so one odd usage report cannot wreck the budget.
        """
        if reported > 0 and estimated > 0:
            self.calibration = min(4.0, max(0.25, reported / estimated))

    def needs_compaction(self) -> bool:
        """Whether the context has reached the compaction threshold."""
        return self.used() >= self.threshold * self.budget

    def compact(self, *, target_share: float = COMPACT_TO) -> Compaction | None:
        """Fold the oldest units into one summary so the rest fits ``target_share`` of the budget.

        The last unit is always kept whole. Returns None when there is nothing to remove.
        """
        units = group_units(self.messages)
        if len(units) < 2:
            return None
        target = target_share * self.budget / self.calibration - estimate_tokens(self.system_prompt)
        kept: list[list[ChatMessage]] = [units[-1]]
        size = sum(message_tokens(m) for m in units[-1])
        for unit in reversed(units[:-1]):
            unit_size = sum(message_tokens(m) for m in unit)
            if size + unit_size > target:
                break
            kept.insert(0, unit)
            size += unit_size
        removed = [m for unit in units[: len(units) - len(kept)] for m in unit]
        if not removed:
            return None
        before = self.used()
        summary = summarise(removed)
        self.messages = [summary] + [m for unit in kept for m in unit]
        self._changed({"op": "compact", "removed": len(removed), "summary": summary.to_dict()})
        return Compaction(
            tokens_before=before,
            tokens_after=self.used(),
            messages_removed=len(removed),
            summary=summary,
        )

    def dangling_calls(self) -> list[tuple[str, str]]:
        """(call id, tool name) of calls in the last tool-using unit that have no result."""
        units = group_units(self.messages)
        if not units or units[-1][0].role != "assistant":
            return []
        answered = {m.tool_call_id for m in units[-1][1:]}
        return [(c.id, c.name) for c in units[-1][0].tool_calls if c.id not in answered]

    def repair(self, note: str) -> int:
        """Answer every dangling tool call with an error result saying ``note``.

        Providers reject a conversation where a tool call has no result; after a cancel or a
        failure this keeps the context valid. Returns how many results were added.
        """
        missing = self.dangling_calls()
        for call_id, name in missing:
            self.append(
                ChatMessage(
                    role="tool", content=note, tool_call_id=call_id, name=name, is_error=True
                )
            )
        return len(missing)

    def truncate(self, length: int) -> None:
        """Drop messages after the first ``length`` (undo a turn that left nothing behind)."""
        if length < len(self.messages):
            del self.messages[length:]
            self._changed({"op": "truncate", "length": length})
