"""``McpManager``: the MCP servers of one session behind the core's ``ToolPort``.

Servers start when a turn first needs them (``prepare``), concurrently, and then stay up; one
that died is started again on the next ``prepare`` or call. Every failure reaches the model as
an ``is_error`` result and ``describe()``; only cancellation propagates.

What the servers say on their own reaches the listeners (``listen``) as events: a ``Notice``
(a log warning, a renewed HTTP session) and ``ToolProgress`` for a running call. What they ask
goes to the handlers of ``answer_with``: questions to the person (elicitation) and requests for
the session's model (sampling), tagged with the turn they came in. ``attach`` reads the
resources a message mentions (``@server:uri``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from collet_nb.adapters.mcp.attach import TOTAL_CHARS, ResourceRead, block, read_of
from collet_nb.adapters.mcp.attach import summary as read_summary
from collet_nb.adapters.mcp.catalog import Catalog, McpPrompt, McpResource, McpTool
from collet_nb.adapters.mcp.content import prompt_text, render_result, result_images
from collet_nb.adapters.mcp.server import ManagedServer, ServerOptions, describe_error
from collet_nb.adapters.mcp.state import ServerState, ServerStatus
from collet_nb.adapters.procs import ProcessRegistry
from collet_nb.adapters.tools.scope import scope_root
from collet_nb.core.chat import ToolCall, ToolResult, ToolSpec
from collet_nb.core.elicitation import ElicitationAnswer, ElicitationRequest
from collet_nb.core.events import Event, Notice, ToolProgress
from collet_nb.core.images import Image
from collet_nb.core.kinds import WorkspaceScope
from collet_nb.core.mcp_config import McpServerConfig
from collet_nb.core.mentions import find_resource_mentions, with_attachments
from collet_nb.core.ports import ToolSource
from collet_nb.core.sampling import SamplingReply, SamplingRequest
from collet_nb.errors import ColletError, ConfigError, McpServerError, UsageError

logger = logging.getLogger(__name__)

_NAMES_SHOWN = 20
PROGRESS_INTERVAL = 0.2  # seconds between two progress events of one call (≤ 5 a second)

# Who answers what servers ask: given the id of the turn it came in (see ``answer_with``).
AskPerson = Callable[[str, ElicitationRequest], Awaitable[ElicitationAnswer]]
AskModel = Callable[[str, SamplingRequest], Awaitable[SamplingReply]]


class McpManager(ToolSource):
    """The configured MCP servers of a session: their tools, calls and lifecycles.

    A ``collet_nb.core.ports.ToolSource``. Use it on one event loop (the kernel's).
    """

    def __init__(
        self,
        servers: Mapping[str, McpServerConfig],
        *,
        log_dir: Path,
        processes: ProcessRegistry | None = None,
        project_dir: Path | None = None,
        scope: Callable[[], WorkspaceScope] | None = None,
        start_timeout: float = 30.0,
        call_timeout: float = 120.0,
        close_timeout: float = 10.0,
        kill_grace: float = 2.0,
        retry_delay: float = 60.0,
        output_chars: int = 30_000,
    ) -> None:
        """Create the manager; nothing starts (and ``mcp`` is not imported) until ``prepare``.

        Args:
            servers: the merged servers of both mcp.json files (disabled ones included).
            log_dir: where each stdio server's stderr goes (``mcp-<name>.log``).
            processes: the registry the stdio servers' process groups are recorded in (the
                kernel's, so that every kind of kernel end kills them); a new one if None.
            project_dir: the default, and the base of a relative, ``cwd`` of stdio servers
                (the current directory if None).
            scope: the session's workspace scope now; its folder is the client's root
                (the project directory if None).
            start_timeout: seconds a server has from spawn (or connect) to listing its tools.
            call_timeout: seconds a tool call may take before it is cancelled.
            close_timeout: seconds a server has to stop before its group is killed.
            kill_grace: seconds between SIGTERM and SIGKILL for what is left of a group.
            retry_delay: seconds before ``prepare`` tries again a server that failed to start.
            output_chars: characters of a tool result handed to the model.
        """
        for label, value in (
            ("start_timeout", start_timeout),
            ("call_timeout", call_timeout),
            ("close_timeout", close_timeout),
        ):
            if value <= 0:
                raise ValueError(f"{label} must be positive, not {value}")
        self.processes = processes if processes is not None else ProcessRegistry()
        project = Path(project_dir) if project_dir is not None else Path.cwd()
        self._scope = scope if scope is not None else (lambda: WorkspaceScope.PROJECT)
        self._project = project
        self._listeners: list[Callable[[Event], None]] = []
        self._message_id = ""
        self._ask_person: AskPerson | None = None
        self._ask_model: AskModel | None = None
        options = ServerOptions(
            log_dir=Path(log_dir),
            project_dir=project,
            processes=self.processes,
            start_timeout=start_timeout,
            call_timeout=call_timeout,
            close_timeout=close_timeout,
            kill_grace=kill_grace,
            retry_delay=retry_delay,
            output_chars=output_chars,
            roots=self.roots,
            notice=self._notice,
            elicit=self._elicit,
            sample=self._sample,
        )
        self._options = options
        self._roots_told: tuple[Path, ...] | None = None
        self._servers = {name: ManagedServer(cfg, options) for name, cfg in servers.items()}
        self._catalog = Catalog({})
        self._listed: tuple[tuple[McpTool, ...], ...] = ()
        self._closing: asyncio.Future[None] | None = None

    @property
    def closed(self) -> bool:
        """Whether ``aclose`` was called (no server starts again)."""
        return self._closing is not None

    def listen(self, listener: Callable[[Event], None]) -> None:
        """Have ``listener`` told what the servers say on their own (``Notice``,
        ``ToolProgress``), on the manager's loop; a listener that raises is logged."""
        self._listeners.append(listener)

    def answer_with(self, *, elicit: AskPerson, sample: AskModel) -> None:
        """Have ``elicit`` ask the person what a server's ``elicitation/create`` asks, and
        ``sample`` answer its ``sampling/createMessage`` (each given the id of the turn the
        request came in). Until then, both are refused (nobody can be asked)."""
        self._ask_person, self._ask_model = elicit, sample

    async def _elicit(self, request: ElicitationRequest) -> ElicitationAnswer:
        if self._ask_person is None:
            raise UsageError("no session listens to these MCP servers: nobody can be asked")
        return await self._ask_person(self._message_id, request)

    async def _sample(self, request: SamplingRequest) -> SamplingReply:
        if self._ask_model is None:
            raise UsageError("no session listens to these MCP servers: no model can answer")
        return await self._ask_model(self._message_id, request)

    def begin_turn(self, message_id: str) -> None:
        """Events from now on belong to ``message_id`` (until the next turn begins)."""
        self._message_id = message_id

    def roots(self) -> tuple[Path, ...]:
        """The client's roots: the folder of the session's workspace scope (``/`` for full)."""
        root = scope_root(self._project, self._scope())
        return (root if root is not None else Path("/"),)

    def specs(self) -> Sequence[ToolSpec]:
        """The tools of every server, from their last listing (none before ``prepare``)."""
        return self._tools().specs

    def owns(self, name: str) -> bool:
        """Whether ``name`` is one of this manager's tools."""
        return self._tools().resolve(name) is not None

    async def call(self, call: ToolCall, arguments: Mapping[str, Any]) -> ToolResult:
        """Run one MCP tool call; every failure is an ``is_error`` result."""
        entry = self._tools().resolve(call.name)
        if entry is None:
            names = ", ".join(self._tools().names()[:_NAMES_SHOWN]) or "none"
            return _error(call, f"unknown MCP tool {call.name!r}; the MCP tools are: {names}")
        server_name, tool = entry
        server = self._servers[server_name]
        try:
            if self.closed:
                raise McpServerError(
                    "the MCP servers of this session were closed", server=server_name
                )
            if server.state is not ServerState.RUNNING:
                if server.state is ServerState.FAILED and not server.due():
                    raise McpServerError(server.last_error or "failed", server=server_name)
                await server.start()
            progress = _ProgressRelay(self._emit, self._message_id, call.id, server_name)
            result = await server.call_tool(tool.name, dict(arguments), on_progress=progress)
            text, is_error = render_result(
                result, cap=self._options.output_chars, images_apart=True
            )
            images = result_images(result, source=call.name)
        except McpServerError as exc:
            return _error(call, str(exc))
        except Exception as exc:
            # The port promises results, not exceptions: this is the tool-call boundary.
            logger.exception("MCP tool %s failed", call.name)
            message = f"{call.name} failed unexpectedly: {type(exc).__name__}: {exc}"
            return _error(call, server.config.redact(message))
        return ToolResult(
            call_id=call.id, name=call.name, content=text, is_error=is_error, images=images
        )

    async def prepare(self) -> tuple[McpServerError, ...]:
        """Start, concurrently, every enabled server that is not running (awaited per turn).

        A server that died is started again; one that failed to start waits ``retry_delay``.

        Returns:
            The errors of the servers that failed to start now (also in ``describe()``).
        """
        if self.closed:
            return ()
        self._tell_roots()
        due = [server for server in self._servers.values() if server.due()]
        if not due:
            return ()
        outcomes = await asyncio.gather(*(s.start() for s in due), return_exceptions=True)
        errors: list[McpServerError] = []
        for server, outcome in zip(due, outcomes, strict=True):
            if isinstance(outcome, McpServerError):
                errors.append(outcome)
            elif isinstance(outcome, BaseException):
                logger.error("MCP server %r failed to start", server.name, exc_info=outcome)
                errors.append(
                    McpServerError(
                        f"MCP server {server.name!r} failed to start: {describe_error(outcome)}",
                        server=server.name,
                    )
                )
        return tuple(errors)

    def server(self, name: str) -> ManagedServer:
        """The configured server ``name``.

        Raises:
            ConfigError: for a name that is not configured, naming those that are.
        """
        server = self._servers.get(name)
        if server is None:
            names = ", ".join(self._servers) or "none are configured"
            raise ConfigError(
                f"no MCP server is named {name!r}; the servers are: {names} (see "
                ".collet/mcp.json and $COLLET_HOME/mcp.json)",
                key="mcp",
            )
        return server

    async def restart(self, name: str) -> ServerStatus:
        """Stop server ``name`` (if it runs) and start it again (``/mcp restart NAME``).

        Raises:
            ConfigError: for a name that is not configured.
            McpServerError: when it is disabled, the manager is closed, or it fails to start.
        """
        server = self.server(name)
        if self.closed:
            raise McpServerError("the MCP servers of this session were closed", server=name)
        await server.stop()
        await server.start()
        return server.status()

    async def resources(self, name: str) -> tuple[McpResource, ...]:
        """The resources of server ``name`` (``/mcp resources NAME``), started if need be.

        Raises:
            ConfigError: for a name that is not configured.
            McpServerError: when it cannot start, does not offer resources, or errs.
        """
        server = await self._running(name)
        return await server.list_resources()

    async def prompts(self, name: str) -> tuple[McpPrompt, ...]:
        """The prompts of server ``name`` (``/mcp prompts NAME``), started if need be.

        Raises:
            ConfigError: for a name that is not configured.
            McpServerError: when it cannot start, does not offer prompts, or errs.
        """
        server = await self._running(name)
        return await server.list_prompts()

    async def prompt(self, name: str, prompt: str, arguments: Mapping[str, str]) -> str:
        """Prompt ``prompt`` of server ``name`` with ``arguments`` (``prompts/get``), as the text
        of one user message (``/prompt SERVER NAME key=value…``).

        Raises:
            ConfigError: for an unknown server or prompt, a missing required argument or one
                the prompt does not take (naming it, with the usage).
            McpServerError: when the server cannot start, does not offer prompts, or errs.
        """
        server = await self._running(name)
        listed = {p.name: p for p in await server.list_prompts()}
        found = listed.get(prompt)
        if found is None:
            names = ", ".join(listed) or "none"
            raise ConfigError(
                f"MCP server {name!r} has no prompt {prompt!r}; its prompts are: {names}",
                key="prompt",
            )
        missing = [arg for arg in found.required if not arguments.get(arg)]
        known = [arg.name for arg in found.arguments]
        unknown = [key for key in arguments if key not in known]
        if missing or unknown:
            problem = (
                f"missing required argument {missing[0]!r}"
                if missing
                else f"no argument {unknown[0]!r} (it takes: {', '.join(known) or 'none'})"
            )
            raise ConfigError(
                f"prompt {prompt!r}: {problem}; usage: {found.usage(name)}", key="prompt"
            )
        result = await server.get_prompt(prompt, dict(arguments))
        text = prompt_text(result)
        if not text.strip():
            raise McpServerError(
                f"MCP server {name!r}: prompt {prompt!r} came back empty", server=name
            )
        return text

    async def read(self, name: str, uri: str) -> ResourceRead:
        """Resource ``uri`` of server ``name`` (``resources/read``), started if need be.

        Raises:
            ConfigError: for a name that is not configured.
            McpServerError: when it cannot start, does not offer resources, or errs.
        """
        server = await self._running(name)
        return read_of(uri, await server.read_resource(uri))

    async def attach(self, text: str) -> tuple[str, tuple[Image, ...]]:
        """``text`` with the resources it mentions (``@server:uri`` of a configured server)
        attached after it, each said in a notice (or why it was not attached), and the
        images among them; the text unchanged when it mentions none. Never raises but for
        cancellation."""
        mentions = find_resource_mentions(text, frozenset(self._servers))
        blocks: list[str] = []
        images: list[Image] = []
        used = 0
        for mention in mentions:
            token = f"@{mention.token}"
            try:
                read = await self.read(mention.server, mention.uri)
            except ColletError as exc:
                said = f"{token}: not attached: {exc}"
                blocks.append(said)
                self._notice(said, "warning")
                continue
            attached = block(mention, read)
            if used + len(attached) > TOTAL_CHARS:
                said = f"{token}: not attached (the attachments reached {TOTAL_CHARS:,} characters)"
                blocks.append(said)
                self._notice(said, "warning")
                continue
            blocks.append(attached)
            images.extend(read.pictures(token))
            used += len(attached)
            self._notice(f"attached {token} ({read_summary(read)})", "info")
        return with_attachments(text, blocks), tuple(images)

    async def _running(self, name: str) -> ManagedServer:
        """Server ``name``, started if it is not running.

        Raises:
            ConfigError: for a name that is not configured.
            McpServerError: when it is disabled, the manager is closed, or it fails to start.
        """
        server = self.server(name)
        if self.closed:
            raise McpServerError("the MCP servers of this session were closed", server=name)
        if server.state is not ServerState.RUNNING:
            if server.state is ServerState.FAILED and not server.due():
                raise McpServerError(server.last_error or "failed", server=name)
            await server.start()
        return server

    def describe(self) -> list[ServerStatus]:
        """Every configured server, in the configuration's order (``/mcp list``)."""
        return [server.status() for server in self._servers.values()]

    async def aclose(self) -> None:
        """Stop every server (idempotent; bounded by about ``close_timeout + kill_grace``)."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._stop_all())
        await asyncio.shield(self._closing)

    async def _stop_all(self) -> None:
        outcomes = await asyncio.gather(
            *(s.stop() for s in self._servers.values()), return_exceptions=True
        )
        for server, outcome in zip(self._servers.values(), outcomes, strict=True):
            if isinstance(outcome, BaseException):
                logger.error("stopping MCP server %r failed", server.name, exc_info=outcome)

    def _tell_roots(self) -> None:
        """Tell the running servers when the roots changed since the last turn (``/workspace``)."""
        roots = self.roots()
        if self._roots_told is not None and roots != self._roots_told:
            for server in self._servers.values():
                server.roots_changed()
        self._roots_told = roots

    def _notice(self, text: str, level: str) -> None:
        logger.info("%s", text)
        self._emit(Notice(message_id=self._message_id, text=text, level=level))

    def _emit(self, event: Event) -> None:
        for listener in tuple(self._listeners):
            try:
                listener(event)
            except Exception:  # a view's failure must not end a server's session
                logger.exception("an MCP event listener failed on %s", event.type)

    def _tools(self) -> Catalog:
        # Rebuilt only when a server's listing changed (a start replaces its tuple).
        listed = tuple(server.tools for server in self._servers.values())
        if len(listed) != len(self._listed) or any(
            new is not old for new, old in zip(listed, self._listed, strict=False)
        ):
            self._catalog = Catalog({s.name: s.tools for s in self._servers.values()})
            self._listed = listed
        return self._catalog


class _ProgressRelay:
    """A call's progress notifications as ``ToolProgress`` events, at most one per
    ``PROGRESS_INTERVAL`` (the last one, which says the call is done, always goes)."""

    def __init__(
        self, emit: Callable[[Event], None], message_id: str, call_id: str, server: str
    ) -> None:
        self._emit = emit
        self._message_id = message_id
        self._call_id = call_id
        self._server = server
        self._last = -float("inf")

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        now = time.monotonic()
        done = total is not None and progress >= total
        if now - self._last < PROGRESS_INTERVAL and not done:
            return
        self._last = now
        self._emit(
            ToolProgress(
                message_id=self._message_id,
                call_id=self._call_id,
                server=self._server,
                progress=progress,
                total=total,
                message=message or "",
            )
        )


def _error(call: ToolCall, message: str) -> ToolResult:
    return ToolResult(call_id=call.id, name=call.name, content=message, is_error=True)
