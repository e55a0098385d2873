"""What MCP servers ask the person (``elicitation/create``), waiting as futures keyed by an id
of this session (``e1``, ``e2`` …), like tool approvals.

A server's request waits in ``ask`` until the person answers: Accept (the form's values, checked
and completed with the defaults), Decline or Cancel, from a button, the sidebar or ``/answer`` /
``/decline``. Nothing reaches the server before that. Cancelling the message (or the end of
its turn) answers ``cancel`` for it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from collet_nb.core.elicitation import (
    ElicitationAnswer,
    ElicitationRequest,
    describe_field,
    example,
    fill,
)
from collet_nb.core.events import ElicitationRequested, ElicitationResolved, Event
from collet_nb.errors import UsageError


@dataclass(kw_only=True)
class PendingElicitation:
    """A server's request waiting for the person."""

    id: str
    message_id: str
    request: ElicitationRequest
    future: asyncio.Future[tuple[ElicitationAnswer, str]]


class ElicitationDesk:
    """The elicitations of one session.

    Args:
        emit: publishes ``ElicitationRequested`` / ``ElicitationResolved`` (the runner derives
            the message's ``awaiting_input`` status after each).
        now: wall-clock seconds (answers carry when they were made).
    """

    def __init__(
        self, *, emit: Callable[[Event], None], now: Callable[[], float] = time.time
    ) -> None:
        self.emit = emit
        self.now = now
        self._pending: dict[str, PendingElicitation] = {}
        self._count = 0
        # The last answer, with its wall time: a command that finds nothing waiting says it.
        self.last: tuple[ElicitationResolved, float] | None = None

    async def ask(self, message_id: str, request: ElicitationRequest) -> ElicitationAnswer:
        """Show ``request`` and wait for the person's answer.

        When the server withdraws the request (the waiting task is cancelled), the views are
        told (``by: server``) and the cancellation goes on.
        """
        self._count += 1
        eid = f"e{self._count}"
        future: asyncio.Future[tuple[ElicitationAnswer, str]] = (
            asyncio.get_running_loop().create_future()
        )
        self._pending[eid] = PendingElicitation(
            id=eid, message_id=message_id, request=request, future=future
        )
        self.emit(
            ElicitationRequested(
                message_id=message_id,
                elicitation_id=eid,
                server=request.server,
                message=request.message,
                mode=request.mode,
                url=request.url,
                fields=[f.to_dict() for f in request.fields],
            )
        )
        try:
            answer, by = await future
        except asyncio.CancelledError:
            if self._pending.pop(eid, None) is not None:
                self._resolved(
                    message_id, eid, request, ElicitationAnswer(action="cancel"), "server"
                )
            raise
        self._resolved(message_id, eid, request, answer, by)
        return answer

    def _resolved(
        self,
        message_id: str,
        eid: str,
        request: ElicitationRequest,
        answer: ElicitationAnswer,
        by: str,
    ) -> None:
        content = "" if answer.content is None else json.dumps(answer.content, ensure_ascii=False)
        event = ElicitationResolved(
            message_id=message_id, elicitation_id=eid, action=answer.action, content=content,
            by=by, at=self.now(), server=request.server,
        )  # fmt: skip
        self.last = (event, self.now())
        self.emit(event)

    # ── the person's answers ──

    def accept(self, eid: str | None, answer: Mapping[str, Any], *, by: str) -> str:
        """Accept ``eid`` (None: the oldest) with ``answer``: each field checked, those left out
        given their defaults (a URL-mode request takes no content). Returns its id.

        Raises:
            UsageError: when nothing (or not ``eid``) waits.
            ConfigError: naming each field to fix (nothing is sent).
        """
        pending = self._find(eid)
        request = pending.request
        content = fill(request.fields, answer) if request.mode == "form" else None
        self._settle(pending, ElicitationAnswer(action="accept", content=content), by)
        return pending.id

    def decline(self, eid: str | None, *, by: str) -> str:
        """Decline ``eid`` (None: the oldest); returns its id.

        Raises:
            UsageError: when nothing (or not ``eid``) waits.
        """
        pending = self._find(eid)
        self._settle(pending, ElicitationAnswer(action="decline"), by)
        return pending.id

    def dismiss(self, eid: str | None, *, by: str) -> str:
        """Cancel ``eid`` (None: the oldest): dismissed without a choice; returns its id.

        Raises:
            UsageError: when nothing (or not ``eid``) waits.
        """
        pending = self._find(eid)
        self._settle(pending, ElicitationAnswer(action="cancel"), by)
        return pending.id

    def cancel_all(self, message_id: str | None = None) -> None:
        """Answer ``cancel`` to every waiting request (of ``message_id`` only, when given): its
        message was cancelled, or its turn ended."""
        for pending in tuple(self._pending.values()):
            if message_id is None or pending.message_id == message_id:
                self._settle(pending, ElicitationAnswer(action="cancel"), "cancel")

    def _settle(self, pending: PendingElicitation, answer: ElicitationAnswer, by: str) -> None:
        self._pending.pop(pending.id, None)
        if not pending.future.done():
            pending.future.set_result((answer, by))

    def _find(self, eid: str | None) -> PendingElicitation:
        if not self._pending:
            raise UsageError("no MCP server is asking anything now")
        if eid is None:
            return next(iter(self._pending.values()))
        found = self._pending.get(eid)
        if found is None:
            raise UsageError(
                f"{eid} is not waiting for an answer (waiting: {', '.join(self._pending)})"
            )
        return found

    # ── what waits ──

    def waiting(self) -> list[PendingElicitation]:
        """The requests waiting, oldest first."""
        return list(self._pending.values())

    def waits_on(self, message_id: str) -> bool:
        """Whether a request of ``message_id``'s turn waits for the person."""
        return any(p.message_id == message_id for p in self._pending.values())

    def pending(self) -> list[dict[str, Any]]:
        """``status()['pending_elicitations']``: oldest first."""
        return [
            {
                "elicitation_id": p.id,
                "server": p.request.server,
                "message": p.request.message,
                "mode": p.request.mode,
                "url": p.request.url,
                "fields": [f.to_dict() for f in p.request.fields],
                "message_id": p.message_id,
            }
            for p in self._pending.values()
        ]


def asking_text(pending: PendingElicitation) -> str:
    """What a text view says of a waiting request: who asks what, its fields, how to answer."""
    request = pending.request
    head = f"MCP server {request.server!r} asks ({pending.id}): {request.message}"
    if request.mode == "url":
        return f"{head}\n  open: {request.url}\n  then `%collet /answer` (done), or `/decline`"
    lines = [head, *(f"  {describe_field(f)}" for f in request.fields)]
    lines.append(
        f"  `%collet /answer {example(request.fields)}` (a field left out takes its default; "
        "* marks one that must be given), or `/decline`"
    )
    return "\n".join(lines)
