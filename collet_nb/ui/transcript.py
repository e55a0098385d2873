"""The static transcript of a message: Markdown that every reader shows without a kernel or
widget state (JupyterLab and Notebook 7 after reopening, nbconvert, VS Code, GitHub).

Built from the same event dicts the live view reads (a cursor's events: the message and its
follow-ups), in the order things happened: the message, the answer, each tool call with its
arguments and a short result (long ones folded in ``<details>``), each decision with who made
it, when and why, the plan and its decision, the final state, and what to do after a failure.
No scripts and no styles: only Markdown and the ``details``/``summary`` tags sanitizers keep.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from collet_nb.core.images import image_line

RESULT_CHARS = 600  # a result longer than this is folded
FOLD_LINES = 12  # a code block longer than this is folded
VERDICTS = {"allow_once": "allowed once", "allow_session": "allowed for the session",
            "deny": "denied"}  # fmt: skip
ENDINGS = {"answered", "failed", "cancelled"}


@dataclass(kw_only=True)
class _Message:
    """What the transcript says of one message, as its events arrive."""

    id: str
    text: str = ""
    status: str = "queued"
    error: str | None = None
    retried_by: str = ""
    follow_up: str = ""  # the message carrying out its approved plan
    parts: list[str] = field(default_factory=list)  # Markdown blocks, in order
    cells: list[str] = field(default_factory=list)  # what it did to notebook cells, in order
    answer: str = ""  # the answer text not yet put in ``parts``
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)


def _when(at: Any) -> str:
    return time.strftime("%H:%M", time.localtime(at)) if isinstance(at, int | float) and at else ""


def _who(by: str) -> str:
    """Who decided (a call denied because its message was cancelled was decided by no one)."""
    if by == "cancel":
        return " when the message was cancelled"
    return f" by {by}" if by else ""


def _fence(text: str, language: str = "") -> str:
    """``text`` in a code fence longer than any backtick run inside it."""
    ticks = "`" * max(3, _longest_backticks(text) + 1)
    return f"{ticks}{language}\n{text.rstrip()}\n{ticks}"


def _longest_backticks(text: str) -> int:
    longest = current = 0
    for char in text:
        current = current + 1 if char == "`" else 0
        longest = max(longest, current)
    return longest


def _fold(summary: str, body: str, *, open_: bool = False) -> str:
    return (
        f"<details{' open' if open_ else ''}><summary>{_escape(summary)}</summary>\n\n"
        f"{body}\n\n</details>"
    )


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(?:.|\n)*?(?<!`)\1(?!`)")
_TAG = re.compile(r"<(?=[A-Za-z/!?])")


def outside_code(markdown: str, change: Callable[[str], str]) -> str:
    """``markdown`` with ``change`` applied to its text outside fenced blocks and code spans."""
    out: list[str] = []
    fence = ""
    for line in markdown.splitlines(keepends=True):
        opened = _FENCE.match(line)
        if fence:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = ""
            out.append(line)
            continue
        if opened:
            fence = opened.group(1)
            out.append(line)
            continue
        pieces, last = [], 0
        for span in _CODE_SPAN.finditer(line):
            pieces.append(change(line[last : span.start()]))
            pieces.append(span.group(0))
            last = span.end()
        pieces.append(change(line[last:]))
        out.append("".join(pieces))
    return "".join(out)


def safe_markdown(text: str) -> str:
    """The model's Markdown with raw HTML tags made text (``<`` → ``&lt;``), outside code: an
    answer must not carry a script or a style into an exported page."""
    return outside_code(text, lambda part: _TAG.sub("&lt;", part))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _quote(text: str) -> str:
    """The person's message as a quote that keeps its lines: a hard break (two trailing
    spaces) ends each line, as a Markdown paragraph would otherwise join them."""
    lines = safe_markdown(text).splitlines()
    return "\n".join(f"> {line}  " if line.strip() else ">" for line in lines).rstrip()


def _code(text: str, language: str, summary: str) -> str:
    block = _fence(text, language)
    return _fold(summary, block) if text.count("\n") >= FOLD_LINES else f"{summary}\n\n{block}"


def _write_block(name: str, preview: dict[str, Any]) -> str:
    verb = "overwrites" if preview.get("exists") else "creates"
    head = f"**{name}** `{preview.get('path', '')}` — {verb} ({preview.get('size', 0):,} bytes)"
    if preview.get("diff"):
        return _code(str(preview["diff"]), "diff", head)
    return _code(str(preview.get("content", "")), str(preview.get("language", "")), head)


def _edit_block(name: str, preview: dict[str, Any]) -> str:
    head = f"**{name}** `{preview.get('path', '')}`"
    if preview.get("problem"):
        return f"{head} — will fail: {preview['problem']}"
    return _code(str(preview.get("diff", "")), "diff", head)


def _bash_block(_name: str, preview: dict[str, Any]) -> str:
    head = f"**bash** in `{preview.get('cwd', '')}` (timeout {preview.get('timeout', 0):g} s)"
    return f"{head}\n\n{_fence(str(preview.get('command', '')), 'bash')}"


def _mcp_block(name: str, preview: dict[str, Any]) -> str:
    ro = " (read-only)" if preview.get("read_only") else ""
    head = f"**{preview.get('tool', name)}** on MCP server `{preview.get('server', '')}`{ro}"
    args = json.dumps(preview.get("arguments", {}), ensure_ascii=False, indent=1)
    return f"{head}\n\n{_fence(args, 'json')}"


def _sampling_block(name: str, preview: dict[str, Any]) -> str:
    head = (
        f"**{name}** — MCP server `{preview.get('server', '')}` asks the model "
        f"{preview.get('model', '')} (up to {preview.get('max_tokens', 0)} tokens)"
    )
    said = [f"system: {preview['system_prompt']}"] if preview.get("system_prompt") else []
    said += [f"{m.get('role', '')}: {m.get('text', '')}" for m in preview.get("messages") or ()]
    return _code("\n".join(said), "", head)


def _run_block(name: str, preview: dict[str, Any]) -> str:
    head = f"**{name}** `{preview.get('path', '')}`"
    if preview.get("problem"):
        return f"{head} — will fail: {preview['problem']}"
    warnings = "; ".join(str(w) for w in preview.get("warnings") or ())
    head += f" — {warnings}" if warnings else ""
    return _code(str(preview.get("code", "")), str(preview.get("language", "")), head)


_BLOCKS = {"file_write": _write_block, "file_edit": _edit_block, "bash": _bash_block,
           "mcp": _mcp_block, "sampling": _sampling_block,
           "notebook_run": _run_block}  # fmt: skip

# The first words of what the notebook tools tell the model when they changed or ran a cell
# (collet_nb/ui/notebook_front.py, notebook_fallback.py): the transcript lists those changes.
_NOTEBOOK_TOOLS = ("notebook_insert", "notebook_edit", "notebook_delete", "notebook_run")
_CHANGE = re.compile(r"(Inserted|Edited|Deleted|Ran) ([^\n]*?\(id [^)\n]+\)(?: as \[\d+\])?)")
_PROPOSED = re.compile(
    r"(proposed instead, as|Changed the code of proposal|proposed as a new cell instead:) (p\d+)"
)
_RAN_PROPOSAL = re.compile(r"So proposal (p\d+) \(id p\d+\) (ran|raised \w+)")
_RAISED = re.compile(r"it raised (\w+)")


def notebook_change(name: str, content: str) -> str | None:
    """What a notebook tool's result says it did to a cell, in a few words (None: nothing)."""
    if name not in _NOTEBOOK_TOOLS:
        return None
    head = content.partition("\n")[0]
    if found := _RAN_PROPOSAL.search(head):
        outcome = "" if found.group(2) == "ran" else f" ({found.group(2)})"
        return f"ran proposal {found.group(1)} in the kernel, outside the notebook{outcome}"
    if found := _PROPOSED.search(head):
        verb = "changed proposal" if found.group(1).startswith("Changed") else "proposed"
        return f"{verb} {found.group(2)}"
    found = _CHANGE.match(head)
    if found is None:
        return None
    raised = _RAISED.search(head)
    return f"{found.group(1).lower()} {found.group(2)}" + (
        f" (raised {raised.group(1)})" if raised else ""
    )


ANSWERS = {"accept": "answered", "decline": "declined", "cancel": "cancelled"}


def _call_block(name: str, arguments: str, preview: dict[str, Any]) -> str:
    """A tool call as a reader judges it: what it does, not its JSON."""
    block = _BLOCKS.get(str(preview.get("kind")))
    if block is not None:
        return block(name, preview)
    try:
        shown = json.dumps(json.loads(arguments or "{}"), ensure_ascii=False, indent=1)
    except ValueError:
        shown = arguments
    return _code(shown, "json", f"**{name}**")


def _result_block(content: str, is_error: bool) -> str:
    label = "error" if is_error else "result"
    if len(content) <= RESULT_CHARS and content.count("\n") < FOLD_LINES:
        return f"{label}:\n\n{_fence(content)}" if content else f"{label}: (empty)"
    size = f"{len(content):,} chars"
    return _fold(f"{label} ({size})", _fence(content))


class Transcript:
    """Follows one cursor's events and says them as Markdown."""

    def __init__(self) -> None:
        self.messages: dict[str, _Message] = {}
        self.order: list[str] = []
        self._asked: dict[str, dict[str, Any]] = {}  # elicitations, by id

    def _message(self, message_id: str) -> _Message:
        if message_id not in self.messages:
            self.messages[message_id] = _Message(id=message_id)
            self.order.append(message_id)
        return self.messages[message_id]

    def add(self, event: dict[str, Any]) -> None:
        """Take one event (the feed's dict form)."""
        kind = event.get("type")
        mid = event.get("message_id") or ""
        if not mid:
            return
        m = self._message(mid)
        if kind == "message_state":
            m.text = m.text or str(event.get("text") or "")
        elif kind == "message_status":
            m.status = str(event.get("status"))
            m.error = event.get("error")
            m.retried_by = str(event.get("retried_by") or "")
        elif kind == "text_delta":
            m.answer += str(event.get("text", ""))
        elif kind == "answer_reset":
            m.answer = ""
        else:
            self._block(m, kind, event)

    def _flush_answer(self, m: _Message) -> None:
        if m.answer.strip():
            m.parts.append(safe_markdown(m.answer.strip()))
        m.answer = ""

    def _block(self, m: _Message, kind: Any, event: dict[str, Any]) -> None:
        if kind == "tool_call":
            self._flush_answer(m)
            m.parts.append(
                _call_block(str(event["name"]), str(event.get("arguments", "")),
                            event.get("preview") or {})
            )  # fmt: skip
        elif kind == "approval_resolved":
            verdict = VERDICTS.get(str(event.get("decision")), str(event.get("decision")))
            who = _who(str(event.get("by") or ""))
            when = f" at {_when(event.get('at'))}" if _when(event.get("at")) else ""
            why = f": {event['reason']}" if event.get("reason") else ""
            m.parts.append(f"> **{event.get('name', 'the call')}** {verdict}{who}{when}{why}")
        elif kind == "tool_result":
            m.parts.append(
                _result_block(str(event.get("content", "")), bool(event.get("is_error")))
            )
            change = None if event.get("is_error") else notebook_change(
                str(event.get("name", "")), str(event.get("content", ""))
            )  # fmt: skip
            if change is not None:
                m.cells.append(change)
            # The card shows the pictures; the saved Markdown says what they were.
            m.parts.extend(f"*{image_line(i)}*" for i in event.get("images") or ())
        elif kind == "plan_ready":
            self._flush_answer(m)  # the plan is the architect's answer
        elif kind == "plan_resolved":
            verdict = "approved" if event.get("approved") else "rejected"
            who = f" by {event['by']}" if event.get("by") else ""
            when = f" at {_when(event.get('at'))}" if _when(event.get("at")) else ""
            note = f" — {'note' if event.get('approved') else 'reason'}: {event['note']}" if (
                event.get("note")) else ""  # fmt: skip
            m.follow_up = str(event.get("follow_up") or "")
            follow = f"; carried out as {m.follow_up}" if m.follow_up else ""
            m.parts.append(f"> **plan {verdict}**{who}{when}{note}{follow}")
        elif kind == "notice":
            m.parts.append(f"*{event.get('text', '')}*")
        elif kind == "elicitation_requested":
            self._asked[str(event.get("elicitation_id"))] = event
        elif kind == "elicitation_resolved":
            m.parts.append(self._answer_line(event))

    def _answer_line(self, event: dict[str, Any]) -> str:
        """``> MCP server x asked (e1): … — answered by button at 14:02: {…}``."""
        asked = self._asked.get(str(event.get("elicitation_id")), {})
        question = str(asked.get("message") or "")
        if asked.get("url"):
            question += f" ({asked['url']})"
        verdict = ANSWERS.get(str(event.get("action")), str(event.get("action")))
        by = str(event.get("by") or "")
        who = {"cancel": " when its turn ended or was cancelled",
               "server": " by the server"}.get(by, f" by {by}" if by else "")  # fmt: skip
        when = f" at {_when(event.get('at'))}" if _when(event.get("at")) else ""
        sent = f": `{event['content']}`" if event.get("content") else ""
        return (
            f"> **MCP server {event.get('server', '')} asked** ({event.get('elicitation_id')}): "
            f"{safe_markdown(question)} — {verdict}{who}{when}{sent}"
        )

    def markdown(self) -> str:
        """The whole transcript so far."""
        blocks = []
        for mid in self.order:
            m = self.messages[mid]
            blocks.append(f"**{mid}** · you asked:\n\n{_quote(m.text or '(no text)')}")
            blocks.extend(m.parts)
            if m.answer.strip():
                blocks.append(safe_markdown(m.answer.strip()))
            if m.cells:
                marked = any(c.startswith(("inserted", "edited")) for c in m.cells)
                blocks.append(
                    f"> **{mid} in the notebook**: {'; '.join(m.cells)}."
                    + (
                        f" The cells it inserted or edited carry its mark (cell metadata "
                        f"`collet_nb`: {mid})."
                        if marked
                        else ""
                    )
                )
            blocks.append(self._ending(m))
        return "\n\n".join(blocks) + "\n"

    @staticmethod
    def _ending(m: _Message) -> str:
        if m.status == "failed":
            error = m.error or "no reason given"
            if m.retried_by:
                return f"**{m.id} failed**: {error} — retried as {m.retried_by}"
            if "/retry" in error:  # the error says what to do already
                return f"**{m.id} failed**: {error}"
            return f"**{m.id} failed**: {error} — `%collet /retry` sends it again"
        if m.status in ENDINGS:
            why = f": {m.error}" if m.error and m.status == "cancelled" else ""
            return f"*{m.id} {m.status}{why}*"
        waiting = m.status.replace("_", " ")
        return (
            f"*{m.id} is {waiting}: this saved view shows it as it was; run the notebook "
            "with its kernel to see it live*"
        )

    def ended(self) -> bool:
        """Whether every message here has ended, no plan or call waits, and each retry or
        plan follow-up named here has arrived (a batch may end just before it)."""
        return bool(self.order) and all(
            m.status in ENDINGS
            and all(f in self.messages for f in (m.retried_by, m.follow_up) if f)
            for m in self.messages.values()
        )


def placeholder(message_id: str) -> str:
    """What a reader without the kernel sees while the message has not ended."""
    return f"*collet: {message_id} is running; its transcript appears here when it ends*\n"
