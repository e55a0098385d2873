"""User messages and their lifecycle: queued → running → answered | failed | cancelled.

The table ``MESSAGE_MOVES`` is the whole lifecycle; any other move raises IllegalTransition.
Terminal states are final: a retry is a new message that points at the failed one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import StrEnum

from collet_nb.core.images import Image
from collet_nb.errors import IllegalTransition


class MessageState(StrEnum):
    """Where a user message is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    ANSWERED = "answered"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """Whether the message has ended (answered, failed or cancelled)."""
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({MessageState.ANSWERED, MessageState.FAILED, MessageState.CANCELLED})

MESSAGE_MOVES: dict[MessageState, frozenset[MessageState]] = {
    MessageState.QUEUED: frozenset({MessageState.RUNNING, MessageState.CANCELLED}),
    MessageState.RUNNING: TERMINAL_STATES,
    MessageState.ANSWERED: frozenset(),
    MessageState.FAILED: frozenset(),
    MessageState.CANCELLED: frozenset(),
}


def shown_status(
    state: MessageState,
    *,
    awaiting_approval: bool,
    awaiting_plan: bool,
    awaiting_input: bool = False,
) -> str:
    """What every view shows for a message: its state, or what it waits for.

    An architect's message waits for its plan's decision (its turn has ended, answered); a
    running message waits while one of its tool calls does, or while an MCP server's question
    (an elicitation) waits for the person's answer.
    """
    if awaiting_plan:
        return "awaiting_plan"
    if state is MessageState.RUNNING and awaiting_approval:
        return "awaiting_approval"
    if state is MessageState.RUNNING and awaiting_input:
        return "awaiting_input"
    return state.value


@dataclass(frozen=True, kw_only=True)
class UserMessage:
    """One message a user sent to the session.

    Attributes:
        id: unique within the session (``m1``, ``m2`` …, in sending order).
        seq: the sending order, from 1.
        text: what the user wrote.
        agent: the agent asked for with ``--agent`` (None = the session's).
        model: the model asked for with ``--model`` (None = the session's).
        state: where it is in its life.
        error: why it failed or was cancelled, for the user.
        retry_of: the id of the failed message this one retries.
        cell_key: for a ``%%collet`` cell, the key its answer is saved under (see
            ``collet_nb.core.answers``); None for other messages.
        images: images attached to it (an ``@cell:N`` with a plot), sent to the model with
            the text.
    """

    id: str
    seq: int
    text: str
    agent: str | None = None
    model: str | None = None
    state: MessageState = MessageState.QUEUED
    error: str | None = None
    retry_of: str | None = None
    cell_key: str | None = None
    images: tuple[Image, ...] = ()

    def moved_to(self, state: MessageState, *, error: str | None = None) -> UserMessage:
        """Return this message in ``state``.

        Raises:
            IllegalTransition: when the lifecycle table forbids the move.
        """
        if state not in MESSAGE_MOVES[self.state]:
            raise IllegalTransition(machine="message", source=self.state.value, target=state.value)
        return replace(self, state=state, error=error)


class MessageLog:
    """Every message of a session, oldest first, with its current state.

    The log is the single source of truth for message states; the queue is derived from it
    (messages still ``queued``, in sending order), so a message can never be both queued and
    lost.
    """

    def __init__(self) -> None:
        self._messages: dict[str, UserMessage] = {}

    def __len__(self) -> int:
        return len(self._messages)

    def __iter__(self) -> Iterator[UserMessage]:
        return iter(tuple(self._messages.values()))

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._messages

    @property
    def next_seq(self) -> int:
        """The sequence number the next message will get."""
        return len(self._messages) + 1

    @property
    def next_id(self) -> str:
        """The id the next message will get (``m`` and its sequence number)."""
        return f"m{self.next_seq}"

    def add(self, message: UserMessage) -> UserMessage:
        """Record a newly accepted message (it must be new and queued)."""
        if message.id in self._messages:
            raise ValueError(f"message {message.id} already exists")
        if message.state is not MessageState.QUEUED:
            raise IllegalTransition(machine="message", source="new", target=message.state.value)
        self._messages[message.id] = message
        return message

    def get(self, message_id: str) -> UserMessage:
        """The message with ``message_id`` (KeyError if unknown)."""
        return self._messages[message_id]

    def move(
        self, message_id: str, state: MessageState, *, error: str | None = None
    ) -> UserMessage:
        """Move one message to ``state`` (see :meth:`UserMessage.moved_to`)."""
        moved = self._messages[message_id].moved_to(state, error=error)
        self._messages[message_id] = moved
        return moved

    def queued(self) -> tuple[UserMessage, ...]:
        """Messages waiting for their turn, in sending order."""
        return tuple(m for m in self._messages.values() if m.state is MessageState.QUEUED)

    def running(self) -> UserMessage | None:
        """The message whose turn is running, if any."""
        for m in self._messages.values():
            if m.state is MessageState.RUNNING:
                return m
        return None

    def last_failed(self) -> UserMessage | None:
        """The most recent failed message that has not been retried yet."""
        retried = {m.retry_of for m in self._messages.values() if m.retry_of}
        for m in reversed(tuple(self._messages.values())):
            if m.state is MessageState.FAILED and m.id not in retried:
                return m
        return None
