"""Saved answers of ``%%collet`` cells: the key that decides when one may be replayed, the
record, and the port that stores them (the file adapter is ``collet_nb.adapters.answers``).

A notebook re-run top to bottom replays each cell's saved answer instead of asking the model
again: same project, agent, provider, model and text, same answer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol

from collet_nb.core.chat import ChatMessage


def answer_key(*, project_dir: str, agent: str, provider: str, model: str, text: str) -> str:
    """The key of a cell's answer: a change to any part asks the model again."""
    parts = "\0".join((project_dir, agent, provider, model, text))
    return hashlib.sha256(parts.encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class SavedAnswer:
    """What a cell's turn added to the conversation, and where it came from.

    Attributes:
        messages: the user message, the assistant replies and tool results, in order.
        session_id: the session that produced it.
        message_id: the message within that session.
        at: wall time it was answered.
        decisions: the approval decisions of its tool calls (``approval_resolved`` event
            dicts): a replay shows who allowed what, as the first run did.
        files: the files its turn wrote, and the SHA-256 of each as the turn left it ("" when
            it was gone): a replay says which are missing or changed since.
    """

    messages: tuple[ChatMessage, ...]
    session_id: str
    message_id: str
    at: float
    decisions: tuple[dict[str, Any], ...] = ()
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "messages": [m.to_dict() for m in self.messages],
            "session_id": self.session_id,
            "message_id": self.message_id,
            "at": self.at,
            "decisions": list(self.decisions),
            "files": dict(self.files),
            "version": 2,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SavedAnswer:
        """Inverse of :meth:`to_dict`.

        Raises:
            KeyError, TypeError, ValueError: for a record that is not a saved answer.
        """
        return cls(
            messages=tuple(ChatMessage.from_dict(m) for m in data["messages"]),
            session_id=str(data["session_id"]),
            message_id=str(data["message_id"]),
            at=float(data["at"]),
            decisions=tuple(d for d in data.get("decisions", ()) if isinstance(d, dict)),
            files={str(k): str(v) for k, v in dict(data.get("files") or {}).items()},
        )


WRITERS = ("file_write", "file_edit")


def written_paths(messages: tuple[ChatMessage, ...]) -> list[str]:
    """The paths the turn's file tools were asked to write, in order, once each."""
    paths: list[str] = []
    for message in messages:
        for call in message.tool_calls:
            if call.name not in WRITERS:
                continue
            try:
                path = call.parsed_arguments().get("path")
            except ValueError:
                continue
            if isinstance(path, str) and path and path not in paths:
                paths.append(path)
    return paths


class AnswerStore(Protocol):
    """Where saved answers live."""

    def get(self, key: str) -> SavedAnswer | None:
        """The answer saved under ``key``, if any."""
        ...

    def put(self, key: str, answer: SavedAnswer) -> None:
        """Save ``answer`` under ``key``."""
        ...
