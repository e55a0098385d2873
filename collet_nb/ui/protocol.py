"""The sidebar's comm protocol (target ``collet``) and a cell view's custom messages, typed
once; mirrored by labextension/src/protocol.ts; described in docs/protocol.md. Every message
carries ``protocol_version``; the events themselves are ``Event.to_dict()`` (core/events.py).
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from collet_nb.core.surrogates import check_well_formed

PROTOCOL_VERSION = 2
COMM_TARGET = "collet"


class StatusMessage(TypedDict):
    """Kernel → sidebar: a full ``collet_nb.status()`` snapshot."""

    protocol_version: int
    type: Literal["status"]
    status: dict[str, Any]


class EventsMessage(TypedDict):
    """Kernel → view or sidebar: events numbered from ``start`` (``Event.to_dict()`` each)."""

    protocol_version: int
    type: Literal["events"]
    start: int
    events: list[dict[str, Any]]


class ReplyMessage(TypedDict):
    """Kernel → sidebar: the outcome of a request (``ok`` False carries the error)."""

    protocol_version: int
    type: Literal["reply"]
    request_id: str | None
    ok: bool
    text: str


class TranscriptMessage(TypedDict):
    """Kernel → sidebar: a message sent from the sidebar has ended; its static transcript, for
    the sidebar to keep in the notebook (a Markdown cell)."""

    protocol_version: int
    type: Literal["transcript"]
    message_id: str
    markdown: str


class SendRequest(TypedDict, total=False):
    """Sidebar → kernel: send a message to the session."""

    protocol_version: int
    type: Literal["send"]
    request_id: str
    text: str
    agent: str
    model: str


class CommandRequest(TypedDict, total=False):
    """Sidebar → kernel: run a slash command (``/approve``, ``/allow session`` …)."""

    protocol_version: int
    type: Literal["command"]
    request_id: str
    text: str


class HelloRequest(TypedDict, total=False):
    """Sidebar → kernel: a status snapshot, and the session's events from ``seen`` on."""

    protocol_version: int
    type: Literal["hello"]
    request_id: str
    seen: int


class ActionRequest(TypedDict, total=False):
    """View or sidebar → kernel: a button (see ``collet_nb.ui.actions.ACTIONS``)."""

    protocol_version: int
    type: Literal["action"]
    request_id: str
    action: str
    message_id: str
    call_id: str
    text: str


class NotebookReply(TypedDict, total=False):
    """Front end → kernel: the outcome of a ``notebook_request`` (``collet_nb.ui.notebook_front``):
    ``ok`` with the ``cells`` read or the ``cell`` changed, or ``ok`` False with ``error``; a run
    adds whether it ``ran`` and the ``images`` of its outputs (``[{mime, data}]``)."""

    protocol_version: int
    type: Literal["notebook_reply"]
    request_id: str
    ok: bool
    error: str
    path: str
    cells: list[dict[str, Any]]
    cell: dict[str, Any]
    ran: bool
    images: list[dict[str, str]]


class SyncRequest(TypedDict):
    """View → kernel: send this view's events from ``seen`` on."""

    protocol_version: int
    type: Literal["sync"]
    seen: int


class ProtocolError(ValueError):
    """A malformed or unknown sidebar message."""


def check_request(
    data: Any,
) -> SendRequest | CommandRequest | HelloRequest | ActionRequest | NotebookReply:
    """Validate a sidebar message.

    Raises:
        ProtocolError: saying what is wrong, for the error reply.
        ConfigError: for a text holding a lone surrogate.
    """
    if not isinstance(data, dict):
        raise ProtocolError("a message must be a JSON object")
    version = data.get("protocol_version")
    if version != PROTOCOL_VERSION:
        raise ProtocolError(
            f"protocol_version {version!r} is not supported (the kernel speaks "
            f"{PROTOCOL_VERSION}); reload the page after upgrading collet_nb"
        )
    kind = data.get("type")
    if kind not in ("send", "command", "hello", "action", "notebook_reply"):
        raise ProtocolError(
            f"unknown message type {kind!r}; expected send, command, hello, action or "
            "notebook_reply"
        )
    if kind == "notebook_reply" and not (
        isinstance(data.get("request_id"), str) and isinstance(data.get("ok"), bool)
    ):
        raise ProtocolError("a notebook_reply needs a request_id string and an ok boolean")
    if kind in ("send", "command") and not isinstance(data.get("text"), str):
        raise ProtocolError(f"a {kind} message needs a text string")
    if kind in ("send", "command"):
        check_well_formed(data["text"], what=f"the {kind} text")
    for key in ("request_id", "agent", "model", "action", "message_id", "call_id", "text"):
        if key in data and not isinstance(data[key], str):
            raise ProtocolError(f"{key} must be a string")
    if kind == "action":
        check_well_formed(data.get("text", ""), what="the action's text")
    if "seen" in data and (not isinstance(data["seen"], int) or isinstance(data["seen"], bool)):
        raise ProtocolError("seen must be an integer")
    return data  # type: ignore[return-value]  # checked above
