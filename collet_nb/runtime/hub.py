"""The sessions of one kernel: one per notebook channel, opened on first use, evicted when
idle, reopened from the journal, replaced by ``/new``, all closed at kernel end.

The hub knows how to build the parts of a runner (settings, provider, tools, journal); the
magics, widgets and sidebar all reach sessions through it. It is the one place that knows which
adapter serves which setting; heavy adapters are imported only when chosen.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from collet_nb.adapters.answers import AnswerCache
from collet_nb.adapters.config import load_policy, setting_sources
from collet_nb.adapters.journal import JsonlJournal, journal_path, read_records
from collet_nb.adapters.ledger import UsageLedger
from collet_nb.adapters.mcp_files import BrokenMcpConfig, load_mcp_servers
from collet_nb.adapters.prices import make_pricer
from collet_nb.adapters.procs import ProcessRegistry
from collet_nb.adapters.skills import SkillCatalog, SkillTools, discover_skills
from collet_nb.adapters.tools import BuiltinTools
from collet_nb.adapters.tools.checkpoints import CheckpointingTools, CheckpointStore
from collet_nb.adapters.tools.preview import WorkspacePreviewer
from collet_nb.adapters.tools.toolbox import Toolbox
from collet_nb.core.context import ConversationContext
from collet_nb.core.kinds import ChannelId, WorkspaceScope
from collet_nb.core.message import MessageState
from collet_nb.core.policy import Policy
from collet_nb.core.pool import SessionPool
from collet_nb.core.ports import Provider, ToolPort
from collet_nb.core.replay import replay, state_record
from collet_nb.core.session import AgentSession
from collet_nb.core.settings import Settings
from collet_nb.errors import ConfigError, UsageError
from collet_nb.runtime.clock import SystemClock
from collet_nb.runtime.quota import QuotaProvider
from collet_nb.runtime.resume import interrupted_notice
from collet_nb.runtime.runner import SessionRunner

if TYPE_CHECKING:
    from collet_nb.adapters.mcp import McpManager

log = logging.getLogger("collet_nb")

INTERRUPTED = "interrupted: the session ended during this turn; send `/retry` to run it again"


@dataclass(frozen=True, kw_only=True)
class SessionSummary:
    """One journaled session, for ``/sessions``."""

    session_id: str
    project_dir: str
    channel: str
    messages: int
    first_message: str
    interrupted: int
    modified: float


@dataclass(frozen=True, kw_only=True)
class SessionParts:
    """The tools of one session, each part typed (for the commands that work on one).

    Attributes:
        toolbox: every source behind one port: the runner's ``tools``.
        checkpoints: the originals of the files the agent changed (``/checkpoints``,
            ``/rewind``).
        skills: the ``skill`` tool and its catalog (``/skills``).
        mcp: the MCP servers (``/mcp``): their manager; a BrokenMcpConfig when mcp.json cannot
            be used; None when it names no server.
    """

    toolbox: Toolbox
    checkpoints: CheckpointStore
    skills: SkillTools
    mcp: McpManager | BrokenMcpConfig | None = None


def provider_for(settings: Settings) -> Provider:
    """The provider the settings name: the demo model, or an HTTP one (``make_provider``)."""
    if settings.provider == "demo":
        from collet_nb.adapters.demo import DemoProvider

        return DemoProvider(pace=settings.demo_pace)
    from collet_nb.adapters.providers import make_provider

    return make_provider(
        settings.provider,
        base_url=settings.base_url,
        api_key=settings.api_key,
        model=settings.model,
        max_retries=settings.max_retries,
        idle_timeout=settings.request_timeout,
        retry_budget=settings.retry_budget,
        images=settings.images,
    )


class SessionHub:
    """Opens, finds, evicts and closes the sessions of this kernel.

    Args:
        settings: returns the effective settings for a project directory.
        project_dir: the default project directory (the kernel's working directory).
        processes: the kernel-wide registry of child process groups (bash, MCP servers).
        provider_factory: builds the provider for settings (tests pass stand-ins).
        sources: where each setting of a project came from (``/status``, ``/policy``).
    """

    def __init__(
        self,
        *,
        settings: Callable[[Path], Settings],
        project_dir: Path,
        processes: ProcessRegistry | None = None,
        provider_factory: Callable[[Settings], Provider] = provider_for,
        sources: Callable[[Path], Mapping[str, str]] | None = None,
    ) -> None:
        self.settings_for = settings
        self.sources_for = sources or (lambda project: setting_sources(project_dir=project))
        self.project_dir = project_dir
        self.processes = processes if processes is not None else ProcessRegistry()
        self.provider_factory = provider_factory
        self.clock = SystemClock()
        self.pool = SessionPool(timeout_secs=settings(project_dir).session_timeout)
        self.runners: dict[str, SessionRunner] = {}
        self._parts: dict[str, SessionParts] = {}
        self._last_id: dict[ChannelId, str] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._on_runner: list[Callable[[ChannelId, SessionRunner], None]] = []

    def on_runner(self, listener: Callable[[ChannelId, SessionRunner], None]) -> None:
        """Be told whenever a channel gets a (new, reopened or resumed) runner."""
        self._on_runner.append(listener)

    # ── finding and opening ──

    def runner(self, channel: ChannelId) -> SessionRunner:
        """The channel's runner: the live one, else reopened from its journal, else a new one."""
        self.evict_stale()
        session = self.pool.get(channel)
        if session is not None:
            return self.runners[session.session_id]
        last = self._last_id.get(channel)
        if last is not None:
            return self._install(channel, self._restore(last))
        return self._install(channel, self._open(channel, self.project_dir))

    def parts(self, runner: SessionRunner) -> SessionParts:
        """The typed tool parts of one of this hub's runners."""
        return self._parts[runner.session.session_id]

    def current(self, channel: ChannelId) -> SessionRunner | None:
        """The channel's live runner, if it has one (never opens one)."""
        session = self.pool.get(channel)
        return self.runners.get(session.session_id) if session is not None else None

    def new(self, channel: ChannelId, project_dir: Path | None = None) -> SessionRunner:
        """Close the channel's session and start a fresh one (optionally in another directory).

        Raises:
            ConfigError: when ``project_dir`` is not a directory.
        """
        target = (project_dir or self.project_dir).expanduser().resolve()
        if not target.is_dir():
            raise ConfigError(f"/new: {target} is not a directory; give an existing folder")
        self._retire(channel)
        self._last_id.pop(channel, None)
        return self._install(channel, self._open(channel, target))

    def resume(self, channel: ChannelId, session_id: str | None = None) -> SessionRunner:
        """Reopen a journaled session (default: the latest one of this project) on ``channel``.

        Raises:
            UsageError: when there is no earlier session of this project.
            ConfigError: when no session (or more than one) matches ``session_id``.
        """
        if session_id is None:
            mine = [s for s in self.sessions() if s.project_dir == str(self.project_dir)]
            current = self.current(channel)
            mine = [
                s for s in mine if current is None or s.session_id != current.session.session_id
            ]
            if not mine:
                raise UsageError("no earlier session of this project to resume; see /sessions")
            session_id = mine[0].session_id
        matches = [s.session_id for s in self.sessions() if s.session_id.startswith(session_id)]
        if len(matches) != 1:
            raise ConfigError(
                f"/resume {session_id}: {'no' if not matches else 'more than one'} session "
                "matches; see /sessions for the ids"
            )
        self._retire(channel)
        return self._install(channel, self._restore(matches[0]))

    def sessions(self) -> list[SessionSummary]:
        """Every journaled session under COLLET_HOME, newest first."""
        folder = Path(self.settings_for(self.project_dir).home) / "sessions"
        found = []
        for path in folder.glob("*.jsonl"):
            image = replay(read_records(path))
            texts = [m.text for m in image.messages]
            found.append(
                SessionSummary(
                    session_id=image.session_id or path.stem,
                    project_dir=image.project_dir,
                    channel=image.channel,
                    messages=len(texts),
                    first_message=texts[0] if texts else "",
                    interrupted=len(image.interrupted()),
                    modified=path.stat().st_mtime,
                )
            )
        return sorted(found, key=lambda s: s.modified, reverse=True)

    def interrupted_notice(self, channel: ChannelId) -> str | None:
        """What to tell the user when this notebook's last session ended mid-turn, else None
        (see :func:`collet_nb.runtime.resume.interrupted_notice`)."""
        live = self.current(channel)
        home = Path(self.settings_for(self.project_dir).home)
        return interrupted_notice(home, channel, live.session.session_id if live else None)

    # ── building runners ──

    def _tools(self, session: AgentSession, settings: Settings, policy: Policy) -> SessionParts:
        builtin = BuiltinTools(
            project_dir=Path(session.project_dir),
            scope=lambda: session.workspace_scope,
            bash_timeout=settings.tool_timeout,
            processes=self.processes,
        )
        store = CheckpointStore(Path(settings.home) / "checkpoints" / session.session_id)
        project, home = Path(session.project_dir), Path(settings.home).expanduser()
        skills = SkillTools(SkillCatalog(), discover=lambda: discover_skills(project, home))
        skills.refresh()  # listed from the start (/tools, /skills), found again every turn
        sources: list[ToolPort] = [CheckpointingTools(builtin, store), skills]
        mcp = self._mcp(project, home, settings, scope=lambda: session.workspace_scope)
        if mcp is not None:
            sources.append(mcp)
        return SessionParts(
            toolbox=Toolbox(sources, hide=policy.denies), checkpoints=store, skills=skills, mcp=mcp
        )

    def _mcp(
        self,
        project: Path,
        home: Path,
        settings: Settings,
        *,
        scope: Callable[[], WorkspaceScope],
    ) -> McpManager | BrokenMcpConfig | None:
        """The session's MCP manager, when mcp.json names servers (nothing starts yet); its
        roots follow the session's workspace ``scope``."""
        try:
            servers = load_mcp_servers(project, home, os.environ)
        except ConfigError as exc:
            return BrokenMcpConfig(exc)
        if not servers:
            return None
        from collet_nb.adapters.mcp import McpManager

        return McpManager(
            servers,
            log_dir=home / "logs",
            processes=self.processes,
            project_dir=project,
            scope=scope,
            call_timeout=settings.tool_timeout,
        )

    def _effective(self, project: Path) -> tuple[Settings, Policy]:
        """The settings and the policy of ``project`` (a policy's approval mode or floor wins).

        Raises:
            ConfigError: for an invalid config or policy file, or settings the policy does not
                allow (a provider, base URL or model): nothing is opened then.
        """
        settings = self.settings_for(project)
        policy = load_policy(project_dir=project)
        refusal = policy.refuses_settings(settings.provider, settings.base_url, settings.model)
        if refusal is not None:
            raise ConfigError(f"the session cannot start: {refusal}", key="policy")
        return settings.replace(approval=policy.approval_for(settings.approval)), policy

    def _provider(self, session: AgentSession, settings: Settings, policy: Policy) -> Provider:
        """The session's provider; under the policy's hard limits when it has any."""
        provider = self.provider_factory(settings)
        if not policy.limits_requests:
            return provider
        return QuotaProvider(
            provider,
            policy=policy,
            session_id=session.session_id,
            ledger=UsageLedger(Path(settings.home)) if policy.daily else None,
            price=make_pricer(settings.provider, settings.base_url or ""),
        )

    def _runner(self, session: AgentSession, settings: Settings, policy: Policy) -> SessionRunner:
        parts = self._tools(session, settings, policy)
        home = Path(settings.home)
        runner = SessionRunner(
            session=session,
            settings=settings,
            provider=self._provider(session, settings, policy),
            tools=parts.toolbox,
            journal=JsonlJournal(journal_path(home, session.session_id)),
            clock=self.clock,
            answers=AnswerCache(home.expanduser() / "cells"),
            previewer=WorkspacePreviewer(
                project_dir=Path(session.project_dir),
                scope=lambda: session.workspace_scope,
                bash_timeout=settings.tool_timeout,
            ),
        )
        runner.gate.policy = policy
        self._parts[session.session_id] = parts
        if parts.mcp is not None and not isinstance(parts.mcp, BrokenMcpConfig):
            parts.mcp.listen(runner.emit)  # log warnings, renewed sessions, progress
            # What servers ask: the person (elicitation), the session's model (sampling).
            parts.mcp.answer_with(elicit=runner.elicitations.ask, sample=runner.sampler.sample)
            runner.attach = parts.mcp.attach  # @server:uri mentions
        return runner

    def _open(self, channel: ChannelId, project_dir: Path) -> SessionRunner:
        settings, policy = self._effective(project_dir)
        session = AgentSession(
            session_id=uuid.uuid4().hex,
            project_dir=str(project_dir),
            context=ConversationContext(system_prompt="", budget=settings.context_budget),
            streaming_level=settings.streaming,
            workspace_scope=settings.workspace,
            last_activity=self.clock.monotonic(),
        )
        runner = self._runner(session, settings, policy)
        runner.journal.append(
            {
                "kind": "session",
                "session_id": session.session_id,
                "project_dir": session.project_dir,
                "channel": str(channel),
                "provider": settings.provider,
                "model": settings.model,
                "at": self.clock.wall(),
                "version": 1,
            },
            durable=True,
        )
        return runner

    def _restore(self, session_id: str) -> SessionRunner:
        """Rebuild a runner from its journal; messages left mid-way become failed (retryable)."""
        settings0 = self.settings_for(self.project_dir)
        image = replay(read_records(journal_path(Path(settings0.home), session_id)))
        project = Path(image.project_dir or self.project_dir)
        settings, policy = self._effective(project)
        context = ConversationContext(system_prompt="", budget=settings.context_budget)
        context.messages = list(image.context)
        session = AgentSession(
            session_id=session_id,
            project_dir=str(project),
            context=context,
            streaming_level=settings.streaming,
            workspace_scope=settings.workspace,
            last_activity=self.clock.monotonic(),
            messages=image.messages,
        )
        runner = self._runner(session, settings, policy)
        for msg in image.interrupted():
            if msg.state is MessageState.QUEUED:
                # Journal the move too: the lifecycle has no queued → failed, and a replay of
                # this journal must reach the same states.
                session.messages.move(msg.id, MessageState.RUNNING)
                runner.record(state_record(msg.id, MessageState.RUNNING))
            runner.record(state_record(msg.id, MessageState.FAILED, INTERRUPTED))
            session.messages.move(msg.id, MessageState.FAILED, error=INTERRUPTED)
        context.repair("not run: the session ended before this call finished")
        return runner

    def _install(self, channel: ChannelId, runner: SessionRunner) -> SessionRunner:
        self.pool.insert(channel, runner.session)
        self.runners[runner.session.session_id] = runner
        self._last_id[channel] = runner.session.session_id
        for listener in tuple(self._on_runner):
            try:
                listener(channel, runner)
            except Exception:
                log.exception("collet: runner listener failed")
        return runner

    # ── closing ──

    def _forget(self, session_id: str) -> SessionRunner:
        """Drop one session's runner and parts; return the runner (to close)."""
        self._parts.pop(session_id, None)
        return self.runners.pop(session_id)

    def _retire(self, channel: ChannelId) -> None:
        session = self.pool.remove(channel)
        if session is not None:
            self._close_later(self._forget(session.session_id))

    def _close_later(self, runner: SessionRunner) -> None:
        task = asyncio.get_running_loop().create_task(runner.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def evict_stale(self) -> list[ChannelId]:
        """Evict sessions idle past COLLET_SESSION_TIMEOUT; they reopen from the journal."""
        evicted = self.pool.evict_stale(self.clock.monotonic())
        for _channel, session in evicted:
            runner = self._forget(session.session_id)
            runner.record({"kind": "evicted", "session_id": session.session_id})
            self._close_later(runner)
        return [channel for channel, _ in evicted]

    async def aclose(self) -> None:
        """Close every session and wait for the closing to finish (idempotent)."""
        runners = list(self.runners.values())
        self.runners.clear()
        self._parts.clear()
        for channel in self.pool.channels():
            self.pool.remove(channel)
        await asyncio.gather(*(r.aclose() for r in runners), *self._closing, return_exceptions=True)
