"""Runs slash commands against a channel's session: the same calls the buttons make.

Each command returns the text to show (Markdown-friendly plain text); one that must await
(``/mcp restart``) returns the rest to await, never running the loop itself. ``/wait`` and
``/panel`` belong to the notebook UI and are handled there.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from collet_nb.adapters.mcp_files import BrokenMcpConfig, mcp_files
from collet_nb.core.chat import ToolSpec
from collet_nb.core.commands import Command, help_text
from collet_nb.core.events import ApprovalResolved, PlanResolved
from collet_nb.core.kinds import AgentKind, ApprovalMode, ChannelId, StreamingLevel, WorkspaceScope
from collet_nb.core.message import MessageState, UserMessage
from collet_nb.errors import ConfigError, UsageError
from collet_nb.runtime.hub import SessionHub
from collet_nb.runtime.provenance import policy_summary, policy_text, settings_line, today_line
from collet_nb.runtime.runner import SessionRunner

if TYPE_CHECKING:
    from collet_nb.adapters.mcp import ServerStatus
    from collet_nb.adapters.mcp.catalog import McpPrompt, McpResource


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What a command did: text for the user, the message it sent, if any, and the part
    that must run on the loop before it is done (its text comes when it is)."""

    text: str
    message: UserMessage | None = None
    later: Callable[[], Awaitable[str]] | None = None


def status_text(runner: SessionRunner) -> str:
    """The ``/status`` lines."""
    s = runner.status()
    used, budget = s["context"]["used"], s["context"]["budget"]
    lines = [
        f"session {s['session_id'][:8]} · {s['state']} · agent {s['agent']} · "
        f"{s['provider']}/{s['model']}",
        f"approval {s['approval']} · workspace {s['workspace']} · streaming {s['streaming']}",
        f"tokens {s['tokens']['prompt']} in / {s['tokens']['completion']} out · context "
        f"{used}/{budget} ({100 * used // max(1, budget)}%) · iterations {s['iterations']}",
        f"project {s['project_dir']}",
    ]
    queued = [m for m in s["messages"] if m["state"] == "queued"]
    if queued:
        lines.append(f"queue: {len(queued)} waiting")
    if s["pending_plan"]:
        lines.append("a plan waits: /approve [note] or /reject [reason]")
    lines.extend(
        f"tool call {p['name']} waits: /allow, /allow session or /deny [reason]"
        for p in s["pending_tools"]
    )
    lines.extend(
        f"MCP server {e['server']} asks ({e['elicitation_id']}): /answer {{…}} or /decline"
        for e in s["pending_elicitations"]
    )
    if runner.journal_error:
        lines.append(f"warning: {runner.journal_error}")
    return "\n".join(lines)


# Commands after which the views are told the session's settings and counters.
ANNOUNCED = frozenset({"stream", "workspace", "approval", "agent", "model", "clear", "compact"})

VERDICTS = {
    "allow_once": "allowed once",
    "allow_session": "allowed for the session",
    "deny": "denied",
}


def _oldest(runner: SessionRunner) -> str:
    """The oldest waiting call, as a person names it: ``m1's file_write``."""
    pending = runner.gate.pending_tools()
    return f"{pending[0]['message_id']}'s {pending[0]['name']}" if pending else "the call"


def last_decision(runner: SessionRunner, kind: str) -> str | None:
    """The calm line saying who made the last ``tool`` or ``plan`` decision and when (None
    when none was ever made)."""
    found = runner.last_decided.get(kind)
    return nothing_waits(*found) if found else None


ANSWERS = {"accept": "answered", "decline": "declined", "cancel": "cancelled"}


def last_answer(runner: SessionRunner) -> str | None:
    """The calm line saying who answered the last question of an MCP server, and when (None
    when none was ever asked)."""
    found = runner.elicitations.last
    if found is None:
        return None
    event, at = found
    who = {
        "": "",
        "cancel": " when its turn ended or was cancelled",
        "server": " by the server (it withdrew it)",
    }.get(event.by, f" by {event.by}")
    when = time.strftime("%H:%M", time.localtime(at))
    return (
        f"nothing waits: {event.elicitation_id} of MCP server {event.server} was "
        f"{ANSWERS.get(event.action, event.action)}{who} at {when}"
    )


def nothing_waits(event: ApprovalResolved | PlanResolved, at: float) -> str:
    """The calm line for a decision already made: what, by whom, when (local time)."""
    if isinstance(event, ApprovalResolved):
        what, verdict = f"{event.name}", VERDICTS.get(event.decision, event.decision)
    else:
        what, verdict = "plan", "approved" if event.approved else "rejected"
    who = {"": "", "cancel": " when the message was cancelled"}.get(event.by, f" by {event.by}")
    when = time.strftime("%H:%M", time.localtime(at))
    return f"nothing waits: {event.message_id}'s {what} was {verdict}{who} at {when}"


def _server_line(status: ServerStatus) -> str:
    """One ``/mcp list`` line: name, state, transport, tools, then the last error if any."""
    line = f"{status.name}: {status.state.value} · {status.transport} {status.target} · "
    line += f"{status.tools} tool(s)"
    for note in status.not_offered:
        line += f"\n    {note}"
    if status.last_error:
        line += f"\n    last error: {status.last_error}"
    return line


def _resource_line(resource: McpResource) -> str:
    """One ``/mcp resources`` line: URI, name, MIME type."""
    return f"{resource.uri} · {resource.name or '(no name)'} · {resource.mime_type or '?'}"


def _prompt_line(prompt: McpPrompt) -> str:
    """One ``/mcp prompts`` line: name, arguments (``*`` marks a required one), what it does."""
    args = ", ".join(f"{a.name}{'*' if a.required else ''}" for a in prompt.arguments)
    line = f"{prompt.name}({args})"
    return f"{line}: {prompt.description}" if prompt.description else line


def _summary(spec: ToolSpec) -> str:
    """The first sentence of a tool's description."""
    return spec.description.split(". ")[0].rstrip(".")


class CommandRunner:
    """Dispatches parsed commands for one channel of a hub."""

    def __init__(self, hub: SessionHub, channel: ChannelId) -> None:
        self.hub = hub
        self.channel = channel
        self.by = "command"
        self._table: dict[str, Callable[[SessionRunner, Command], Outcome]] = {
            "help": lambda r, c: Outcome(text=help_text()),
            "status": self._status,
            "policy": self._policy,
            "cancel": self._cancel,
            "approve": self._approve,
            "reject": self._reject,
            "allow": self._allow,
            "deny": self._deny,
            "answer": self._answer,
            "decline": self._decline,
            "queue": self._queue,
            "remove": self._remove,
            "retry": lambda r, c: self._sent(r.retry(), "retrying"),
            "stream": self._stream,
            "workspace": self._workspace,
            "approval": self._approval,
            "agent": self._agent,
            "model": self._model,
            "new": self._new,
            "sessions": self._sessions,
            "resume": self._resume,
            "compact": self._compact,
            "cost": self._cost,
            "clear": self._clear,
            "tools": self._tools,
            "skills": self._skills,
            "mcp": self._mcp,
            "prompt": self._prompt,
            "save-plan": self._save_plan,
            "checkpoints": self._checkpoints,
            "rewind": self._rewind,
        }

    def run(self, command: Command, *, by: str = "command") -> Outcome:
        """Run ``command``; ``by`` says where it came from (``command``, ``sidebar``), for the
        decisions it makes (the audit trail).

        Raises:
            ConfigError: for a command or argument this kernel cannot take (says which).
            UsageError: when the command cannot be done now (says why and what to do).
        """
        self.by = by
        handler = self._table.get(command.name)
        if handler is None:
            raise ConfigError(f"/{command.name} is not available in this kernel yet")
        runner = self.hub.runner(self.channel)
        outcome = handler(runner, command)
        if command.name in ANNOUNCED:
            runner.announce()  # every view's status line follows
        return outcome

    @staticmethod
    def _sent(msg: UserMessage, what: str) -> Outcome:
        return Outcome(text=f"{what}: sent as {msg.id}", message=msg)

    def _status(self, runner: SessionRunner, command: Command) -> Outcome:
        notice = self.hub.interrupted_notice(self.channel)
        lines = [status_text(runner), self._settings_line(runner)]
        lines.append(policy_summary(runner.gate.policy))
        today = today_line(runner)
        if today is not None:
            lines.append(today)
        if notice:
            lines.append(f"note: {notice}")
        return Outcome(text="\n".join(lines))

    def _policy(self, runner: SessionRunner, command: Command) -> Outcome:
        return Outcome(text=policy_text(runner, self._settings_line(runner)))

    def _settings_line(self, runner: SessionRunner) -> str:
        """Where the session's settings came from (a broken file is said, not raised)."""
        project = Path(runner.session.project_dir)
        try:
            sources = self.hub.sources_for(project)
            loaded = self.hub.settings_for(project)
        except ConfigError as exc:
            return f"settings: {exc}"
        return settings_line(runner, sources, loaded)

    def _cancel(self, runner: SessionRunner, command: Command) -> Outcome:
        ids = runner.cancel()
        return Outcome(text=f"cancelled {', '.join(ids)}" if ids else "nothing to cancel")

    # A decision someone already made (a button, the sidebar) is not an error to a headless
    # command that comes after it: it says so in one calm line.

    def _allow(self, runner: SessionRunner, command: Command) -> Outcome:
        if not runner.gate.pending_tools() and (said := last_decision(runner, "tool")):
            return Outcome(text=said)
        name = _oldest(runner)
        runner.allow(for_session=bool(command.args), by=self.by)
        also = " (and for the rest of the session)" if command.args else ""
        return Outcome(text=f"allowed {name}{also}")

    def _deny(self, runner: SessionRunner, command: Command) -> Outcome:
        if not runner.gate.pending_tools() and (said := last_decision(runner, "tool")):
            return Outcome(text=said)
        name = _oldest(runner)
        runner.deny(reason=command.text, by=self.by)
        return Outcome(text=f"denied {name}")

    def _answer(self, runner: SessionRunner, command: Command) -> Outcome:
        """``/answer [ID] [{JSON}]``: accept the oldest question (or ``ID``) with the JSON
        object (fields left out take their defaults; a URL's question takes none)."""
        from collet_nb.core.elicitation import parse_answer

        desk = runner.elicitations
        if not desk.waiting() and (said := last_answer(runner)):
            return Outcome(text=said)
        head, _, rest = command.text.partition(" ")
        eid, text = (head, rest) if re.fullmatch(r"e\d+", head) else (None, command.text)
        answered = desk.accept(eid, parse_answer(text), by=self.by)
        return Outcome(text=f"answered {answered}")

    def _decline(self, runner: SessionRunner, command: Command) -> Outcome:
        desk = runner.elicitations
        if not desk.waiting() and (said := last_answer(runner)):
            return Outcome(text=said)
        declined = desk.decline(command.args[0] if command.args else None, by=self.by)
        return Outcome(text=f"declined {declined}")

    def _approve(self, runner: SessionRunner, command: Command) -> Outcome:
        if runner.session.pending_plan is None and (said := last_decision(runner, "plan")):
            return Outcome(text=said)
        return self._sent(runner.approve_plan(command.text, by=self.by), "plan approved")

    def _reject(self, runner: SessionRunner, command: Command) -> Outcome:
        if runner.session.pending_plan is None and (said := last_decision(runner, "plan")):
            return Outcome(text=said)
        runner.reject_plan(command.text, by=self.by)
        return Outcome(text="plan rejected")

    def _queue(self, runner: SessionRunner, command: Command) -> Outcome:
        queued = runner.session.queue()
        if not queued:
            return Outcome(text="the queue is empty")
        return Outcome(text="\n".join(f"{m.id}: {m.text[:80]}" for m in queued))

    def _remove(self, runner: SessionRunner, command: Command) -> Outcome:
        message_id = command.args[0]
        log = runner.session.messages
        if message_id in log and log.get(message_id).state is not MessageState.QUEUED:
            m = log.get(message_id)  # its turn came, or someone took it out already
            why = f" ({m.error})" if m.error else ""
            return Outcome(text=f"nothing to remove: {m.id} is {m.state.value} already{why}")
        runner.remove(message_id)
        return Outcome(text=f"removed {message_id} from the queue")

    def _stream(self, runner: SessionRunner, command: Command) -> Outcome:
        runner.session.streaming_level = StreamingLevel.parse(command.args[0], setting="/stream")
        return Outcome(text=f"streaming {runner.session.streaming_level.value}")

    def _workspace(self, runner: SessionRunner, command: Command) -> Outcome:
        scope = WorkspaceScope.parse(command.args[0], setting="/workspace")
        runner.session.workspace_scope = scope
        return Outcome(text=f"workspace scope {scope.value}")

    def _approval(self, runner: SessionRunner, command: Command) -> Outcome:
        mode = ApprovalMode.parse(command.args[0], setting="/approval")
        refusal = runner.gate.policy.refuses_approval(mode)
        if refusal is not None:
            raise ConfigError(refusal, key="approval")
        runner.settings = runner.settings.replace(approval=mode)
        return Outcome(text=f"approval {mode.value}")

    def _agent(self, runner: SessionRunner, command: Command) -> Outcome:
        agent = AgentKind.parse(command.args[0], setting="/agent")
        runner.session.agent_override = agent.value
        return Outcome(text=f"agent {agent.value} for the next messages")

    def _model(self, runner: SessionRunner, command: Command) -> Outcome:
        refusal = runner.gate.policy.refuses("models", command.args[0])
        if refusal is not None and runner.provider.name != "demo":
            raise ConfigError(refusal, key="model")
        runner.session.model_override = command.args[0]
        return Outcome(text=f"model {command.args[0]} for the next messages")

    def _new(self, runner: SessionRunner, command: Command) -> Outcome:
        path = Path(command.args[0]) if command.args else None
        fresh = self.hub.new(self.channel, path)
        return Outcome(
            text=f"new session {fresh.session.session_id[:8]} in {fresh.session.project_dir}"
        )

    def _sessions(self, runner: SessionRunner, command: Command) -> Outcome:
        rows = []
        for s in self.hub.sessions():
            mark = "*" if s.session_id == runner.session.session_id else " "
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.modified))
            extra = f", {s.interrupted} interrupted" if s.interrupted else ""
            rows.append(
                f"{mark} {s.session_id[:8]}  {when}  {s.messages} messages{extra}  "
                f"{s.first_message[:50]!r}"
            )
        return Outcome(text="\n".join(rows) or "no sessions yet")

    def _resume(self, runner: SessionRunner, command: Command) -> Outcome:
        resumed = self.hub.resume(self.channel, command.args[0] if command.args else None)
        n = len(resumed.session.messages)
        return Outcome(text=f"resumed session {resumed.session.session_id[:8]} ({n} messages)")

    def _compact(self, runner: SessionRunner, command: Command) -> Outcome:
        if runner.session.busy:
            raise UsageError("/compact waits until the running turn ends; try again then")
        done = runner.session.context.compact()
        if done is None:
            return Outcome(text="nothing to compact")
        return Outcome(
            text=f"compacted: {done.tokens_before} → {done.tokens_after} tokens "
            f"({done.messages_removed} messages folded)"
        )

    def _cost(self, runner: SessionRunner, command: Command) -> Outcome:
        return Outcome(text=cost_line(runner))

    def _clear(self, runner: SessionRunner, command: Command) -> Outcome:
        if runner.session.busy:
            raise UsageError("/clear waits until the running turn ends; /cancel first")
        runner.session.context.truncate(0)
        return Outcome(text="conversation cleared (the messages stay listed)")

    def _tools(self, runner: SessionRunner, command: Command) -> Outcome:
        toolbox = self.hub.parts(runner).toolbox
        if command.text:
            ranked = toolbox.rank(command.text)
            if not ranked:
                return Outcome(text=f"no tool matches {command.text!r}")
            return Outcome(
                text="\n".join(
                    f"{score:6.2f}  {spec.name}: {_summary(spec)}" for spec, score in ranked
                )
            )
        specs = toolbox.index.specs
        lines = [f"{s.name}{' (read-only)' if s.read_only else ''}: {_summary(s)}" for s in specs]
        if toolbox.deferring:
            lines.append(
                "(MCP tools are many: the model finds them with tool_search; "
                "`/tools QUERY` shows how a query ranks them)"
            )
        return Outcome(text="\n".join(lines))

    def _skills(self, runner: SessionRunner, command: Command) -> Outcome:
        return Outcome(text=self.hub.parts(runner).skills.refresh().describe())

    def _mcp(self, runner: SessionRunner, command: Command) -> Outcome:
        manager = self.hub.parts(runner).mcp
        if isinstance(manager, BrokenMcpConfig):
            return Outcome(text=f"MCP servers not started: {manager.error}")
        if manager is None:
            home = Path(runner.settings.home).expanduser()
            files = " or ".join(str(f) for f in mcp_files(Path(runner.session.project_dir), home))
            return Outcome(text=f"no MCP servers configured; add an mcpServers entry to {files}")
        what = command.args[0] if command.args else "list"
        if what == "list":
            return Outcome(text="\n".join(_server_line(s) for s in manager.describe()))
        if len(command.args) != 2:
            raise ConfigError(f"/mcp {what} takes the server's NAME; see /mcp list")
        name = command.args[1]
        manager.server(name)  # an unknown name is said now, not after a wait
        mcp = manager

        async def restart() -> str:
            return _server_line(await mcp.restart(name))

        async def resources() -> str:
            found = await mcp.resources(name)
            return "\n".join(_resource_line(r) for r in found) or f"{name}: no resources (none)"

        async def prompts() -> str:
            found = await mcp.prompts(name)
            return "\n".join(_prompt_line(p) for p in found) or f"{name}: no prompts (none)"

        later = {"restart": restart, "resources": resources, "prompts": prompts}[what]
        return Outcome(text="", later=later)

    def _prompt(self, runner: SessionRunner, command: Command) -> Outcome:
        """``/prompt SERVER NAME key=value…``: the server's prompt, sent as a user message."""
        manager = self.hub.parts(runner).mcp
        if manager is None or isinstance(manager, BrokenMcpConfig):
            return self._mcp(runner, command)  # says why there are no servers
        server, name, *pairs = command.args
        arguments: dict[str, str] = {}
        for pair in pairs:
            key, eq, value = pair.partition("=")
            if not eq or not key:
                raise ConfigError(
                    f"/prompt: {pair!r} is not key=value; usage: /prompt SERVER NAME "
                    "[key=value …] (see /mcp prompts SERVER)",
                    key="prompt",
                )
            arguments[key] = value
        manager.server(server)  # an unknown server is said now, not after a wait
        mcp = manager

        async def send() -> str:
            text = await mcp.prompt(server, name, arguments)
            msg = runner.send(text)
            return f"prompt {name} of {server}: sent as {msg.id}"

        return Outcome(text="", later=send)

    def _checkpoints(self, runner: SessionRunner, command: Command) -> Outcome:
        store = self.hub.parts(runner).checkpoints
        if not store.checkpoints:
            return Outcome(text="no checkpoints: the agent has not changed any file yet")
        project = Path(runner.session.project_dir)
        rows = []
        for cp in store.checkpoints:
            names = [
                str(Path(p).relative_to(project)) if Path(p).is_relative_to(project) else p
                for p in cp.originals
            ]
            rows.append(f"{cp.id}: {len(names)} file(s): {', '.join(names)}")
        return Outcome(text="\n".join(rows) + "\n(`/rewind ID` restores the files as before ID)")

    def _rewind(self, runner: SessionRunner, command: Command) -> Outcome:
        if runner.session.busy:
            raise UsageError("/rewind waits until the running turn ends; /cancel first")
        store = self.hub.parts(runner).checkpoints
        restored = store.rewind(command.args[0] if command.args else None)
        return Outcome(text=f"restored {len(restored)} file(s): {', '.join(restored)}")

    def _save_plan(self, runner: SessionRunner, command: Command) -> Outcome:
        plan = runner.session.pending_plan
        if plan is None:
            raise UsageError("no plan to save; send a message with `--agent architect` first")
        if command.text == "--cell":
            raise ConfigError(
                "/save-plan --cell works in a notebook cell: `%collet /save-plan --cell`"
            )
        project = Path(runner.session.project_dir)
        stamp = time.strftime("%Y%m%d_%H%M%S")
        target = Path(command.text) if command.text else Path("docs/plan") / f"plan_{stamp}.md"
        target = target if target.is_absolute() else project / target
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(plan.plan + "\n", encoding="utf-8")
        return Outcome(text=f"plan saved to {target}")


def cost_line(runner: SessionRunner) -> str:
    """``/cost``: the session's tokens and, where the models' prices are known, their cost."""
    from collet_nb.adapters.prices import table_version

    t = runner.tokens
    tokens = f"{t.prompt + t.completion:,} tokens: {t.prompt:,} prompt, {t.completion:,} completion"
    settings = runner.settings
    if t.price is None:
        return f"{tokens}; the {settings.provider} provider costs nothing"
    table = f"prices from genai-prices {table_version()}".rstrip()
    if not t.unpriced:
        return f"{tokens}; ${t.cost_usd:.4f} ({table})"
    where = settings.base_url or settings.provider
    known = f"; ${t.cost_usd:.4f} for the requests that have one" if t.cost_usd else ""
    return f"{tokens}; no price known for {', '.join(sorted(t.unpriced))} at {where}{known}"
