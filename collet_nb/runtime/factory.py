"""Builds a session runner from settings: provider, tools, journal, clock.

The one place that knows which adapter serves which setting; heavy adapters are imported
only when chosen.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from collet_nb.adapters.journal import JsonlJournal, journal_path
from collet_nb.core.context import ConversationContext
from collet_nb.core.ports import Approver, Provider, ToolPort
from collet_nb.core.session import AgentSession
from collet_nb.core.settings import Settings
from collet_nb.runtime.clock import SystemClock
from collet_nb.runtime.runner import SessionRunner


def make_provider(settings: Settings) -> Provider:
    """The provider the settings name."""
    if settings.provider == "demo":
        from collet_nb.adapters.demo import DemoProvider

        return DemoProvider(pace=settings.demo_pace)
    from collet_nb.adapters.providers import make_provider as make_http_provider

    return make_http_provider(
        settings.provider,
        base_url=settings.base_url,
        api_key=settings.api_key,
        model=settings.model,
        max_attempts=settings.max_retries,
        read_timeout=settings.request_timeout,
    )


def new_session_id() -> str:
    """A fresh session id."""
    return uuid.uuid4().hex


def open_runner(
    *,
    settings: Settings,
    project_dir: Path,
    tools: ToolPort,
    provider: Provider | None = None,
    approver: Approver | None = None,
    session_id: str | None = None,
) -> SessionRunner:
    """A runner for a new session, journaling to ``$COLLET_HOME/sessions/<id>.jsonl``."""
    clock = SystemClock()
    sid = session_id or new_session_id()
    session = AgentSession(
        session_id=sid,
        project_dir=str(project_dir),
        context=ConversationContext(system_prompt="", budget=settings.context_budget),
        streaming_level=settings.streaming,
        workspace_scope=settings.workspace,
        last_activity=clock.monotonic(),
    )
    journal = JsonlJournal(journal_path(Path(settings.home), sid))
    journal.append(
        {
            "kind": "session",
            "session_id": sid,
            "project_dir": str(project_dir),
            "provider": settings.provider,
            "model": settings.model,
            "at": clock.wall(),
            "version": 1,
        },
        durable=True,
    )
    return SessionRunner(
        session=session,
        settings=settings,
        provider=provider or make_provider(settings),
        tools=tools,
        journal=journal,
        clock=clock,
        approver=approver,
    )
