"""What a button does, wherever it is pressed (a cell's view, the sidebar): one table of the
runner calls behind each ``action`` request of docs/protocol.md, recorded with who pressed it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from collet_nb.core.message import MessageState
from collet_nb.errors import ConfigError

if TYPE_CHECKING:
    from collet_nb.runtime.runner import SessionRunner

ACTIONS = (
    "allow_once", "allow_session", "deny", "approve", "reject", "cancel", "retry", "remove",
    "answer", "decline", "dismiss",
)  # fmt: skip


def act(runner: SessionRunner, request: dict[str, Any], *, by: str) -> str:
    """Do one action; return the reply's text.

    Raises:
        ConfigError: when it cannot be done now (nothing waits, not the message's turn), saying
            why; a decision someone already made is said calmly, as the commands do.
    """
    action = request.get("action")
    handler = _HANDLERS.get(action) if isinstance(action, str) else None
    if handler is None:
        raise ConfigError(f"unknown action {action!r}; the actions are: {', '.join(ACTIONS)}")
    return handler(
        runner,
        str(request.get("message_id") or ""),
        request.get("call_id") or None,
        str(request.get("text") or ""),
        by,
        action,
    )


def _decided(runner: SessionRunner, kind: str) -> str | None:
    # Imported here: the bridge loads this module at %load_ext, the commands only at first use.
    from collet_nb.runtime.commands import last_decision

    return last_decision(runner, kind)


def _tool(
    runner: SessionRunner, _mid: str, call_id: str | None, text: str, by: str, action: str
) -> str:
    if call_id is not None and not any(
        p["call_id"] == call_id for p in runner.gate.pending_tools()
    ):
        return _decided(runner, "tool") or "that call no longer waits for a decision"
    if action == "deny":
        runner.deny(call_id, reason=text, by=by)
        return "denied"
    runner.allow(call_id, for_session=action == "allow_session", by=by)
    return "allowed" + (" for the session" if action == "allow_session" else "")


def _plan(
    runner: SessionRunner, mid: str, _call_id: str | None, text: str, by: str, action: str
) -> str:
    plan = runner.session.pending_plan
    if plan is None or (mid and plan.message_id != mid):
        return _decided(runner, "plan") or "no plan waits for a decision"
    if action == "approve":
        return f"plan approved: carried out as {runner.approve_plan(text, by=by).id}"
    runner.reject_plan(text, by=by)
    return "plan rejected"


def _elicitation(
    runner: SessionRunner, _mid: str, eid: str | None, text: str, by: str, action: str
) -> str:
    """Answer an MCP server's question: ``answer`` (``text``: the form's JSON object; fields
    left out take their defaults), ``decline``, or ``dismiss`` (its Cancel)."""
    from collet_nb.core.elicitation import parse_answer

    desk = runner.elicitations
    if eid is not None and not any(p.id == eid for p in desk.waiting()):
        return _answered(runner) or "that question no longer waits for an answer"
    if action == "answer":
        return f"answered {desk.accept(eid, parse_answer(text), by=by)}"
    if action == "decline":
        return f"declined {desk.decline(eid, by=by)}"
    return f"cancelled {desk.dismiss(eid, by=by)}"


def _answered(runner: SessionRunner) -> str | None:
    from collet_nb.runtime.commands import last_answer

    return last_answer(runner)


def _remove(runner: SessionRunner, mid: str, *_rest: Any) -> str:
    runner.remove(mid)
    return f"removed {mid} from the queue"


def _cancel(runner: SessionRunner, message_id: str, *_rest: Any) -> str:
    """Cancel a queued message alone, or the running one (and the queue behind it)."""
    log = runner.session.messages
    if message_id not in log:
        raise ConfigError(f"there is no message {message_id}")
    state = log.get(message_id).state
    if state is MessageState.QUEUED:
        runner.remove(message_id)
        return f"cancelled {message_id}"
    if state is MessageState.RUNNING:
        return f"cancelled {', '.join(runner.cancel()) or 'nothing'}"
    return f"nothing to cancel: {message_id} is {state.value} already"


def _retry(runner: SessionRunner, message_id: str, *_rest: Any) -> str:
    log = runner.session.messages
    if message_id in log and any(m.retry_of == message_id for m in log):
        retried = next(m.id for m in log if m.retry_of == message_id)
        return f"{message_id} was retried already, as {retried}"
    return f"retrying: sent as {runner.retry(message_id).id}"


_HANDLERS: dict[str, Callable[..., str]] = {
    "allow_once": _tool,
    "allow_session": _tool,
    "deny": _tool,
    "approve": _plan,
    "reject": _plan,
    "cancel": _cancel,
    "retry": _retry,
    "remove": _remove,
    "answer": _elicitation,
    "decline": _elicitation,
    "dismiss": _elicitation,
}
