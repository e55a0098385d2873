"""Rebuilds a session's messages and conversation from its journal records (pure).

A journal is a list of dict records (``session``, ``accepted``, ``state``, ``context``,
``event``); replaying them through the same lifecycle tables validates them too. Records no
longer written (and fields no longer read) are passed over, so old journals still replay.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from collet_nb.core.chat import ChatMessage
from collet_nb.core.context import ConversationContext
from collet_nb.core.images import Image
from collet_nb.core.message import MessageLog, MessageState, UserMessage
from collet_nb.errors import IllegalTransition


@dataclass(kw_only=True)
class SessionImage:
    """What a journal says about a session.

    Attributes:
        session_id: from the ``session`` header (empty if the header is missing).
        project_dir: from the header.
        channel: from the header: the notebook the session belonged to (empty in old journals).
        messages: every accepted message with its last journaled state.
        context: the conversation messages, as the context ops left them.
        skipped: records that could not be applied (kind or reason).
    """

    session_id: str = ""
    project_dir: str = ""
    channel: str = ""
    messages: MessageLog = field(default_factory=MessageLog)
    context: list[ChatMessage] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def interrupted(self) -> list[UserMessage]:
        """Messages the journal leaves queued or running (their session ended mid-way)."""
        return [m for m in self.messages if not m.state.terminal]


def state_record(message_id: str, state: MessageState, error: str | None = None) -> dict[str, Any]:
    """The journal record of a message moving to ``state`` (``error``: why it failed or was
    cancelled)."""
    return {"kind": "state", "id": message_id, "state": state.value, "error": error}


def replay(records: Iterable[Mapping[str, Any]]) -> SessionImage:
    """Apply ``records`` in order and return the resulting image."""
    image = SessionImage()
    ctx = ConversationContext(system_prompt="", budget=1)
    for record in records:
        kind = record.get("kind")
        try:
            if kind == "session":
                image.session_id = str(record.get("session_id", ""))
                image.project_dir = str(record.get("project_dir", ""))
                image.channel = str(record.get("channel", ""))
            elif kind == "accepted":
                image.messages.add(
                    UserMessage(
                        id=str(record["id"]),
                        seq=int(record["seq"]),
                        text=str(record["text"]),
                        agent=record.get("agent"),
                        model=record.get("model"),
                        retry_of=record.get("retry_of"),
                        cell_key=record.get("cell_key"),
                        images=tuple(Image.from_dict(i) for i in record.get("images", ())),
                    )
                )
            elif kind == "state":
                message_id, state = str(record["id"]), MessageState(record["state"])
                if image.messages.get(message_id).state is not state:
                    image.messages.move(message_id, state, error=record.get("error"))
            elif kind == "context":
                ctx.apply(dict(record))
        except (KeyError, ValueError, TypeError, IllegalTransition) as exc:
            image.skipped.append(f"{kind}: {exc}")
    image.context = ctx.messages
    return image
