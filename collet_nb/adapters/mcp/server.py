"""One MCP server and its owner task: the task enters the SDK client, lists the tools, serves
calls, notices death, and exits the client again (anyio cancel scopes must exit where entered).

Callers never touch the SDK session: a call is a request the owner's task group runs, answered
through a future, so cancelling a caller cancels its call and nothing else.

What the server says on its own is followed too: ``tools/list_changed`` lists its tools again
(on a 2026-07-28 connection through a ``subscriptions/listen`` stream), log notifications go
to its log file (warnings and worse to the user as a notice), progress goes to the call that
asked for it, ``roots/list`` is answered with the session's workspace folder, and an HTTP
session the server forgot (it restarted) is replaced once by a new one. A server that announces
changes to its resources or prompts has its listing kept until it says the list changed.

What a server asks of this side goes where the manager says: ``elicitation/create`` to the
person, ``sampling/createMessage`` to the session's model (``people.py``); nothing is answered
in the person's name.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import math
import os
import signal
import sys
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import anyio

from collet_nb.adapters.mcp.catalog import McpPrompt, McpResource, McpTool
from collet_nb.adapters.mcp.people import Elicit, Sample, answer_elicitation, answer_sampling
from collet_nb.adapters.mcp.state import ServerLifecycle, ServerState, ServerStatus
from collet_nb.adapters.mcp.stderr_log import StderrLog
from collet_nb.adapters.mcp.transport import http_transport, stdio_transport
from collet_nb.adapters.procs import ProcessRegistry, signal_group
from collet_nb.core.mcp_config import McpServerConfig, McpTransport
from collet_nb.errors import McpServerError, UsageError

logger = logging.getLogger(__name__)

_WATCH_SECONDS = 0.2  # how soon the death of an idle stdio server is noticed
_SAFETY_MARGIN = 5.0  # the owner's own deadlines fire first; these bound a stuck owner
_LIST_PAGES = 100  # a server whose tools/list never ends cannot hang a start
_CONNECTION_CLOSED = -32000  # mcp_types.CONNECTION_CLOSED, without importing mcp here
# The SDK (≈0.5 s) and jsonschema (≈0.8 s, which the SDK imports at the first tool result).
_SDK_MODULES = ("mcp", "mcp.client.stdio", "mcp.client.streamable_http", "httpx2", "jsonschema")
# Log notifications asked for (2026-07-28 servers send none unless asked; older ones send all).
_LOG_LEVEL: Final = "info"
_LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
_NOTICE_FROM = _LOG_LEVELS.index("warning")
_NOTICE_CHARS = 500
_FIRST_MODERN = "2026-07-28"  # protocol versions are dates: later ones compare greater
# The list changes that make a kept listing stale (tools are listed again at once instead).
_LIST_CHANGES = {
    "notifications/resources/list_changed": "resources",
    "notifications/prompts/list_changed": "prompts",
}

ProgressCallback = Callable[[float, float | None, str | None], Awaitable[None]]


def _no_roots() -> tuple[Path, ...]:
    return ()


def _no_notice(text: str, level: str) -> None:
    """Drop it (a manager nobody listens to)."""


async def _nobody_asked(request: Any) -> Any:
    raise UsageError("no session is listening to this MCP server: nobody can be asked")


@dataclass(frozen=True, kw_only=True)
class ServerOptions:
    """What every server of a manager shares.

    Attributes:
        log_dir: where ``mcp-<name>.log`` files go.
        project_dir: the default (and the base of a relative) ``cwd`` of stdio servers.
        processes: the registry stdio servers' process groups are recorded in.
        start_timeout: seconds from spawn/connect to the end of the tool listing.
        call_timeout: seconds a tool call may take.
        close_timeout: seconds a stop may take before the group is killed outright.
        kill_grace: seconds between SIGTERM and SIGKILL for what is left of a group.
        retry_delay: seconds before a server that failed to start is tried again by
            ``prepare`` (a server that died while running is restarted at once).
        output_chars: characters of a tool result kept.
        roots: the folders the client offers as its roots (the session's workspace scope),
            asked each time a server lists them.
        notice: tells the user something (``text``, ``level``: ``info`` or ``warning``).
        elicit: asks the person what a server's ``elicitation/create`` asks; its answer goes
            back (a ColletError refuses the request, saying why).
        sample: has the session's model answer a server's ``sampling/createMessage`` once the
            person allows it (a ColletError refuses it, saying why).
    """

    log_dir: Path
    project_dir: Path
    processes: ProcessRegistry
    start_timeout: float = 30.0
    call_timeout: float = 120.0
    close_timeout: float = 10.0
    kill_grace: float = 2.0
    retry_delay: float = 60.0
    output_chars: int = 30_000
    roots: Callable[[], tuple[Path, ...]] = _no_roots
    notice: Callable[[str, str], None] = _no_notice
    elicit: Elicit = _nobody_asked
    sample: Sample = _nobody_asked


@dataclass(kw_only=True, eq=False)
class _Request:
    """One tool call (or another request, ``op``) waiting for the owner's task group."""

    tool: str  # the tool's name, or the method of another request (``prompts/get``)
    arguments: dict[str, Any]
    future: asyncio.Future[Any]
    on_progress: ProgressCallback | None = None
    op: Callable[[Any], Awaitable[Any]] | None = None  # sends the request, given the client
    scope: anyio.CancelScope | None = field(default=None)

    def resolve(self, value: Any) -> None:
        if not self.future.done():
            self.future.set_result(value)

    def fail(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)

    def cancel(self) -> None:
        self.future.cancel()
        if self.scope is not None:
            self.scope.cancel()


class ManagedServer:
    """One configured server: its lifecycle, its owner task, its cached tools."""

    def __init__(self, config: McpServerConfig, options: ServerOptions) -> None:
        self.config = config
        self.options = options
        self.lifecycle = ServerLifecycle(
            ServerState.DISABLED if config.disabled else ServerState.CONFIGURED
        )
        self.tools: tuple[McpTool, ...] = ()
        self.last_error: str | None = None
        self.pid: int | None = None
        stdio = config.transport is McpTransport.STDIO
        log = StderrLog(options.log_dir / f"mcp-{config.name}.log")
        self.log = log if stdio else None  # stderr: stdio servers only
        self.notes = log  # where log notifications go, whatever the transport
        self._owner: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self._stop = asyncio.Event()
        self._start_scope: anyio.CancelScope | None = None
        self._tg: Any = None
        self._client: Any = None
        self._pending: set[_Request] = set()
        self._start_failed = False
        self._failed_at = -math.inf
        self._session_lost = False  # the HTTP server answered our session id as unknown
        self._sessions = 0  # how many sessions were started (a renewal starts one)
        self._renewing = asyncio.Lock()
        self._stale = False  # tools/list_changed came before the session could act on it
        # Listings of servers that announce their changes, kept until they change; a change
        # during a listing bumps its count, so that listing is not kept.
        self._kept: dict[str, tuple[Any, ...]] = {}
        self._changes: dict[str, int] = {"resources": 0, "prompts": 0}
        self._relisting = False
        self._relist_again = False

    @property
    def name(self) -> str:
        """The server's name in mcp.json."""
        return self.config.name

    @property
    def state(self) -> ServerState:
        """Where it is in its life."""
        return self.lifecycle.state

    def status(self) -> ServerStatus:
        """Its line of ``/mcp list``."""
        return ServerStatus(
            name=self.name,
            state=self.state,
            transport=self.config.transport.value,
            source=self.config.source,
            target=self.config.display,
            tools=sum(not tool.needs_task for tool in self.tools),
            pid=self.pid,
            last_error=self.last_error,
            log_path=str(self.notes.path),
            not_offered=tuple(
                f"{tool.name}: not offered: it runs only as an MCP task (taskSupport: "
                "required), which collet_nb does not support"
                for tool in self.tools
                if tool.needs_task
            ),
        )

    def due(self) -> bool:
        """Whether ``prepare`` should start it now."""
        state = self.state
        if state in (ServerState.CONFIGURED, ServerState.STOPPED):
            return True
        if state is ServerState.FAILED:
            # Died while running: back at once. Never started: not on every turn.
            waited = time.monotonic() - self._failed_at
            return not self._start_failed or waited >= self.options.retry_delay
        return False

    async def start(self) -> None:
        """Start it, or join the start under way; return once it is running.

        Raises:
            McpServerError: when it is disabled, or fails to start (``last_error`` says why).
        """
        if self.state is ServerState.RUNNING:
            return
        if self.state is ServerState.DISABLED:
            raise McpServerError(
                f"MCP server {self.name!r} is disabled in {self.config.source}; remove "
                '"disabled": true there to use it',
                server=self.name,
            )
        await load_sdk(self.name)
        if self.state is not ServerState.STARTING:
            await self.stop()  # a run still winding down (it died, or a stop is under way)
            now = self.lifecycle.state  # read again: another caller may have started it
            if now is ServerState.RUNNING:
                return
            if now is not ServerState.STARTING:
                self._launch()
        assert self._ready is not None
        ready = self._ready
        bound = self.options.start_timeout + self.options.close_timeout + _SAFETY_MARGIN
        try:
            await asyncio.wait_for(asyncio.shield(ready), bound)
        except TimeoutError:
            # The owner's own deadline should have ended the start long ago.
            await self.stop()
            raise McpServerError(
                f"MCP server {self.name!r} did not start within {bound:g} s and was stopped",
                server=self.name,
            ) from None

    def _launch(self) -> None:
        self.lifecycle.move(ServerState.STARTING)
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        # Nobody may be left to await a failed start (say the turn was cancelled).
        ready.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._ready = ready
        self._stop = asyncio.Event()
        self.pid = None
        self._owner = asyncio.create_task(self._own(ready), name=f"mcp-server-{self.name}")
        self._owner.add_done_callback(self._owner_done)

    def _owner_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error("owner task of MCP server %r failed", self.name, exc_info=task.exception())

    async def call_tool(
        self, tool: str, arguments: dict[str, Any], *, on_progress: ProgressCallback | None = None
    ) -> Any:
        """Call ``tool`` and return the SDK's ``CallToolResult``.

        When the HTTP server has forgotten the session (it restarted), a new session is
        started, the user told once, and the call sent again, once.

        Args:
            tool: its name on the server.
            arguments: its arguments.
            on_progress: given each progress notification of the call (a progress token is
                sent with it).

        Raises:
            McpServerError: when the server is not running, dies, errs or times out.
        """
        return await self._request(tool, arguments, on_progress, None)

    def offers(self, feature: str) -> bool:
        """Whether the running server declared ``feature`` (``resources``, ``prompts``) among
        its capabilities (False when it is not running)."""
        client = self._client
        if client is None:
            return False
        return getattr(client.server_capabilities, feature, None) is not None

    async def list_resources(self) -> tuple[McpResource, ...]:
        """Its resources (``resources/list``, every page).

        Raises:
            McpServerError: when it is not running, does not offer resources, errs or times out.
        """
        self._require("resources")

        async def op(client: Any) -> tuple[McpResource, ...]:
            pages = _pages(client.list_resources, lambda page: page.resources)
            return tuple([McpResource.from_listing(r) async for r in pages])

        result: tuple[McpResource, ...] = await self._listing("resources", op)
        return result

    async def list_prompts(self) -> tuple[McpPrompt, ...]:
        """Its prompts (``prompts/list``, every page).

        Raises:
            McpServerError: when it is not running, does not offer prompts, errs or times out.
        """
        self._require("prompts")

        async def op(client: Any) -> tuple[McpPrompt, ...]:
            pages = _pages(client.list_prompts, lambda page: page.prompts)
            return tuple([McpPrompt.from_listing(p) async for p in pages])

        result: tuple[McpPrompt, ...] = await self._listing("prompts", op)
        return result

    async def _listing(self, kind: str, op: Callable[[Any], Awaitable[Any]]) -> Any:
        """``resources`` or ``prompts``: kept from the last listing when the server announces
        its changes (``listChanged``) and has not announced one since; else listed now."""
        kept = self._kept.get(kind)
        if kept is not None:
            return kept
        changes = self._changes[kind]
        listed = await self._request(f"{kind}/list", {}, None, op)
        if self._changes[kind] == changes and self._announces(kind):
            self._kept[kind] = listed
        return listed

    def _announces(self, kind: str) -> bool:
        client = self._client
        capability = getattr(client.server_capabilities, kind, None) if client else None
        return bool(capability is not None and getattr(capability, "list_changed", False))

    def _list_changed(self, kind: str) -> None:
        """The server says its ``kind`` changed: the next listing asks it again."""
        self._changes[kind] += 1
        if self._kept.pop(kind, None) is not None:
            logger.info("MCP server %r changed its %s", self.name, kind)

    async def read_resource(self, uri: str) -> Any:
        """Resource ``uri`` (``resources/read``): the SDK's ``ReadResourceResult``.

        Raises:
            McpServerError: when it is not running, does not offer resources, errs or times out.
        """
        self._require("resources")

        async def op(client: Any) -> Any:
            return await client.read_resource(uri)

        return await self._request(f"resources/read {uri!r}", {}, None, op)

    async def get_prompt(self, name: str, arguments: dict[str, str]) -> Any:
        """Prompt ``name`` with ``arguments`` (``prompts/get``): the SDK's ``GetPromptResult``.

        Raises:
            McpServerError: when it is not running, does not offer prompts, errs or times out.
        """
        self._require("prompts")

        async def op(client: Any) -> Any:
            return await client.get_prompt(name, arguments)

        return await self._request(f"prompts/get {name!r}", {}, None, op)

    def _require(self, feature: str) -> None:
        if self.state is ServerState.RUNNING and not self.offers(feature):
            raise self._error(f"does not offer {feature} (its capabilities do not list them)")

    async def _request(
        self,
        tool: str,
        arguments: dict[str, Any],
        on_progress: ProgressCallback | None,
        op: Callable[[Any], Awaitable[Any]] | None,
    ) -> Any:
        sessions = self._sessions
        try:
            return await self._call(tool, arguments, on_progress, op)
        except _SessionLost:
            await self._renew(sessions)
        try:
            return await self._call(tool, arguments, on_progress, op)
        except _SessionLost:
            raise self._error(
                f"forgot its session again at once, in the call to {tool!r}. "
                f"{self._restart_advice()}"
            ) from None

    async def _renew(self, sessions: int) -> None:
        """Replace the session the server forgot with a new one (once, whoever asks)."""
        async with self._renewing:
            if self._sessions != sessions and self.state is ServerState.RUNNING:
                return  # another call renewed it meanwhile
            logger.info("MCP server %r forgot its HTTP session: starting a new one", self.name)
            await self.stop()
            await self.start()
            self.options.notice(
                f"MCP server {self.name!r} had forgotten this session (it restarted?): a new "
                "session was started and the call sent again",
                "info",
            )

    def roots_changed(self) -> None:
        """Tell the server the roots changed (handshake-era servers; later ones ask anew)."""
        tg, client = self._tg, self._client
        if tg is not None and client is not None and not _modern(client):
            tg.start_soon(self._send_roots_changed, client)

    async def _call(
        self,
        tool: str,
        arguments: dict[str, Any],
        on_progress: ProgressCallback | None,
        op: Callable[[Any], Awaitable[Any]] | None = None,
    ) -> Any:
        tg, client = self._tg, self._client
        if self.state is not ServerState.RUNNING or tg is None:
            raise McpServerError(
                self.last_error or f"MCP server {self.name!r} is {self.state.value}",
                server=self.name,
            )
        request = _Request(
            tool=tool,
            arguments=arguments,
            future=asyncio.get_running_loop().create_future(),
            on_progress=on_progress,
            op=op,
        )
        self._pending.add(request)
        tg.start_soon(self._serve_call, client, request)
        try:
            return await asyncio.wait_for(
                asyncio.shield(request.future), self.options.call_timeout + _SAFETY_MARGIN
            )
        except TimeoutError:
            request.cancel()
            raise self._timeout(tool, op=op is not None) from None
        except asyncio.CancelledError:
            request.cancel()
            raise
        finally:
            self._pending.discard(request)

    async def stop(self) -> None:
        """Stop it (bounded by ``close_timeout``; the group is killed if it takes longer).

        Idempotent; a failed server keeps its state and error.
        """
        owner = self._owner
        if owner is None or owner.done():
            return
        if self.state in (ServerState.STARTING, ServerState.RUNNING):
            self.lifecycle.move(ServerState.STOPPING)
        self._stop.set()
        if self._start_scope is not None:
            self._start_scope.cancel()
        done, _ = await asyncio.wait({owner}, timeout=self.options.close_timeout)
        if done:
            return
        logger.warning("MCP server %r did not stop in time: killing it", self.name)
        if self.pid is not None:
            with contextlib.suppress(ValueError):
                signal_group(self.pid, signal.SIGKILL)
        owner.cancel()
        await asyncio.wait({owner}, timeout=self.options.kill_grace + _SAFETY_MARGIN)

    # --- the owner task -------------------------------------------------------------------

    async def _own(self, ready: asyncio.Future[None]) -> None:
        error: McpServerError | None = None
        try:
            await self._session(ready)
        except Exception as exc:
            # The owner's boundary: whatever ended the session becomes the server's error.
            error = self._failure(exc, starting=not ready.done())
        finally:
            self._tg = self._client = self._start_scope = None
            if self.log is not None:
                self.log.close()
            self._finish(error, ready)

    async def _session(self, ready: asyncio.Future[None]) -> None:
        with anyio.CancelScope() as scope:
            # Deadline for the start only; lifted once the tools are listed.
            scope.deadline = anyio.current_time() + self.options.start_timeout
            self._start_scope = scope
            async with self._connect() as client:
                self.tools = await _list_tools(client)
                scope.deadline = math.inf
                self._start_scope = None
                if self._stop.is_set():
                    return  # stopped while listing: never report it running
                async with anyio.create_task_group() as tg:
                    self._tg, self._client = tg, client
                    self._sessions += 1
                    self.lifecycle.move(ServerState.RUNNING)
                    self.last_error = None
                    ready.set_result(None)
                    if self.pid is not None:
                        tg.start_soon(self._watch, self.pid)
                    if self._stale:
                        tg.start_soon(self._relist, client)
                    if _modern(client) and (
                        _announces_tools(client)
                        or any(self._announces(kind) for kind in _LIST_CHANGES.values())
                    ):
                        tg.start_soon(self._listen, client)
                    await self._stop.wait()
                    tg.cancel_scope.cancel()
        if not ready.done():
            raise _StartAborted(timed_out=scope.cancelled_caught and not self._stop.is_set())

    @contextlib.asynccontextmanager
    async def _connect(self) -> AsyncIterator[Any]:
        from mcp import Client

        config = self.config
        self._session_lost = self._stale = False
        self._kept.clear()  # a new session: its lists are asked for anew
        if config.transport is McpTransport.HTTP:
            transport = http_transport(
                config.url, config.headers, on_session_lost=self._lose_session
            )
        else:
            assert self.log is not None
            errlog = self.log.open(config.display)
            cwd = self.options.project_dir / (config.cwd or ".")
            transport = stdio_transport(
                config,
                cwd=cwd,
                errlog=errlog,
                pid_dir=self.options.log_dir,
                processes=self.options.processes,
                on_pid=self._seen_pid,
                kill_grace=self.options.kill_grace,
            )
        async with Client(
            transport,
            message_handler=self._on_message,
            logging_callback=self._on_log,
            list_roots_callback=self._on_roots,
            elicitation_callback=self._on_elicit,
            sampling_callback=self._on_sample,
            log_level=_LOG_LEVEL,
        ) as client:
            yield client

    def _seen_pid(self, pid: int) -> None:
        self.pid = pid

    def _lose_session(self) -> None:
        self._session_lost = True

    # --- what the server says on its own ------------------------------------------------------

    async def _on_message(self, message: Any) -> None:
        method = getattr(message, "method", None)
        if method == "notifications/tools/list_changed":
            tg, client = self._tg, self._client
            if tg is None or client is None:
                self._stale = True  # still starting: listed again once running
            else:
                tg.start_soon(self._relist, client)
        elif method in _LIST_CHANGES:
            self._list_changed(_LIST_CHANGES[method])

    async def _on_elicit(self, context: Any, params: Any) -> Any:
        return await answer_elicitation(self.name, params, self.options.elicit)

    async def _on_sample(self, context: Any, params: Any) -> Any:
        return await answer_sampling(self.name, params, self.options.sample)

    async def _relist(self, client: Any) -> None:
        """List the tools again (one listing at a time; changes meanwhile list once more)."""
        if self._relisting:
            self._relist_again = True
            return
        self._relisting = True
        tools: tuple[McpTool, ...] | None = None
        try:
            with anyio.move_on_after(self.options.start_timeout):
                while True:
                    self._relist_again = False
                    tools = await _list_tools(client)
                    if not self._relist_again:
                        break
        except Exception as exc:
            # The old listing stays; the session goes on.
            logger.warning("MCP server %r: listing its tools again failed: %s", self.name, exc)
            return
        finally:
            self._relisting = self._stale = False
        if tools is None:
            logger.warning("MCP server %r: listing its tools again timed out", self.name)
            return
        before, after = {t.name for t in self.tools}, {t.name for t in tools}
        self.tools = tools
        logger.info(
            "MCP server %r changed its tools: added %s, removed %s",
            self.name, sorted(after - before) or "none", sorted(before - after) or "none",
        )  # fmt: skip

    async def _listen(self, client: Any) -> None:
        """Hold a 2026-07-28 ``subscriptions/listen`` stream, without which no list change
        is sent; each event also reaches ``_on_message``, which lists the tools again (or
        forgets a kept listing of resources or prompts)."""
        tools = _announces_tools(client)
        try:
            async with client.listen(
                tools_list_changed=tools,
                resources_list_changed=self._announces("resources"),
                prompts_list_changed=self._announces("prompts"),
            ) as events:
                # A change before the stream was open is not replayed.
                for kind in _LIST_CHANGES.values():
                    self._list_changed(kind)
                if tools:
                    await self._relist(client)
                async for _event in events:
                    pass
        except Exception as exc:
            logger.info("MCP server %r: no tool-change stream: %s", self.name, describe_error(exc))

    async def _on_log(self, params: Any) -> None:
        level = str(params.level)
        data = params.data
        text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, default=str)
        where = f"{params.logger}: " if params.logger else ""
        self.notes.note(self.config.redact(f"notifications/message [{level}] {where}{text}"))
        rank = _LOG_LEVELS.index(level) if level in _LOG_LEVELS else 0
        if rank >= _NOTICE_FROM:
            shown = text if len(text) <= _NOTICE_CHARS else text[:_NOTICE_CHARS] + "…"
            self.options.notice(
                self.config.redact(
                    f"MCP server {self.name!r} logged {level}: {where}{shown} "
                    f"(its log: {self.notes.path})"
                ),
                "warning",
            )

    async def _on_roots(self, context: Any) -> Any:
        import mcp_types

        roots = [
            mcp_types.Root(uri=path.as_uri(), name=path.name or str(path))  # type: ignore[arg-type]
            for path in self.options.roots()
        ]
        return mcp_types.ListRootsResult(roots=roots)

    async def _send_roots_changed(self, client: Any) -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # deprecated at 2026-07-28, current before
                await client.send_roots_list_changed()
        except Exception as exc:
            logger.info("MCP server %r: roots/list_changed not sent: %s", self.name, exc)

    async def _watch(self, pid: int) -> None:
        # The SDK owns the process object: its exit can only be polled for.
        while _alive(pid):  # noqa: ASYNC110 - no event to wait on
            await anyio.sleep(_WATCH_SECONDS)
        when = "during a call" if self._pending else "while idle"
        self._lost(f"MCP server {self.name!r} exited {when}")

    async def _serve_call(self, client: Any, request: _Request) -> None:
        from mcp import MCPError

        with anyio.CancelScope() as scope:
            request.scope = scope
            if request.future.done():
                return
            with anyio.move_on_after(self.options.call_timeout) as timer:
                try:
                    if request.op is not None:
                        result = await request.op(client)
                    else:
                        result = await client.call_tool(
                            request.tool, request.arguments, progress_callback=request.on_progress
                        )
                except MCPError as exc:
                    if self._session_lost:
                        request.fail(_SessionLost(str(exc)))
                    else:
                        request.fail(self._call_error(request.tool, exc, op=request.op is not None))
                except Exception as exc:
                    # The call's boundary: the caller gets an error, the session goes on.
                    # Logged redacted: the exception text may carry a header value or a token.
                    error = self._error(f"call to {request.tool!r} failed: {describe_error(exc)}")
                    logger.warning("%s", error)
                    request.fail(error)
                else:
                    request.resolve(result)
            if timer.cancelled_caught:
                request.fail(self._timeout(request.tool, op=request.op is not None))

    def _lost(self, reason: str) -> None:
        """The server died or its connection broke: fail it; the owner then winds down."""
        if self.state is ServerState.RUNNING:
            self.lifecycle.move(ServerState.FAILED)
            self._start_failed = False
            self._failed_at = time.monotonic()
            self.last_error = self._compose(reason, self._restart_advice())
        self._stop.set()

    def _finish(self, error: McpServerError | None, ready: asyncio.Future[None]) -> None:
        state = self.state
        if state in (ServerState.STARTING, ServerState.RUNNING):
            self.lifecycle.move(ServerState.FAILED)
            self._start_failed = state is ServerState.STARTING
            self._failed_at = time.monotonic()
            self.last_error = str(error or self._error("ended unexpectedly"))
        elif state is ServerState.STOPPING:
            self.lifecycle.move(ServerState.STOPPED)
        self.pid = None
        message = self.last_error if state is not ServerState.STOPPING else None
        reason = McpServerError(
            message or f"MCP server {self.name!r} was stopped", server=self.name
        )
        if not ready.done():
            ready.set_exception(reason)
        for request in tuple(self._pending):
            request.fail(reason)

    # --- messages -------------------------------------------------------------------------

    def _error(self, problem: str) -> McpServerError:
        return McpServerError(
            self.config.redact(f"MCP server {self.name!r}: {problem}"), server=self.name
        )

    def _timeout(self, tool: str, *, op: bool = False) -> McpServerError:
        subject = tool if op else f"tool {tool!r}"  # an op's "tool" is its request's label
        return self._error(
            f"{subject} did not answer within {self.options.call_timeout:g} s and was "
            "cancelled; the server is still available. Ask for less at once, or raise the MCP "
            "call timeout"
        )

    def _call_error(self, tool: str, exc: Exception, *, op: bool = False) -> McpServerError:
        code = getattr(exc, "code", None)
        if code == _CONNECTION_CLOSED:
            during = tool if op else f"a call to {tool!r}"
            self._lost(f"MCP server {self.name!r} died during {during}")
            return McpServerError(self.config.redact(self.last_error or ""), server=self.name)
        subject = tool if op else f"the call to {tool!r}"
        return self._error(f"refused {subject}: {exc} (MCP error {code})")

    def _failure(self, exc: Exception, *, starting: bool) -> McpServerError:
        leaf = _leaf(exc)
        if isinstance(leaf, McpServerError):
            return leaf
        config = self.config
        if isinstance(leaf, _StartAborted) and leaf.timed_out:
            problem = f"did not finish starting within {self.options.start_timeout:g} s"
        elif isinstance(leaf, _StartAborted):
            problem = "was stopped while starting"
        elif isinstance(leaf, OSError) and starting:
            problem = f"could not be started ({leaf.strerror or leaf})"
        elif getattr(leaf, "code", None) == _CONNECTION_CLOSED:
            ended = "exited" if config.transport is McpTransport.STDIO else "closed the connection"
            problem = f"{ended} during start-up" if starting else f"{ended}"
        elif type(leaf).__module__.startswith("httpx"):
            problem = f"could not be reached at {config.display} ({describe_error(leaf)})"
        else:
            problem = f"failed: {describe_error(leaf)}"
        if not starting:
            advice = self._restart_advice()
        elif config.transport is McpTransport.STDIO:
            advice = (
                f"Check `command`, `args` and `env` of {config.name!r} in {config.source}, "
                f"then run `/mcp restart {config.name}`"
            )
        else:
            advice = (
                f"Check that it is running, and `url` and `headers` of {config.name!r} in "
                f"{config.source}, then run `/mcp restart {config.name}`"
            )
        message = self._compose(f"MCP server {config.name!r} {problem}", advice)
        return McpServerError(message, server=config.name)

    def _restart_advice(self) -> str:
        return f"It is started again when next needed (or run `/mcp restart {self.name}`)"

    def _compose(self, problem: str, advice: str) -> str:
        """``problem``, the run's last stderr lines (stdio), ``advice``; secrets redacted."""
        parts = [problem]
        if self.log is not None:
            lines = self.log.tail()
            shown = " | ".join(lines) if lines else "(none)"
            parts.append(f"Last stderr lines (full log: {self.log.path}): {shown}")
        parts.append(advice)
        return self.config.redact(". ".join(parts) + ".")


class _SessionLost(Exception):
    """The HTTP server answered the call's session id as unknown."""


class _StartAborted(Exception):
    """The start's deadline passed, or a stop came first."""

    def __init__(self, *, timed_out: bool) -> None:
        super().__init__("timed out" if timed_out else "stopped")
        self.timed_out = timed_out


async def load_sdk(server: str) -> None:
    """Import the MCP SDK in a thread (once), so the kernel's loop is not blocked for a second.

    Raises:
        McpServerError: when the ``mcp`` package is not installed.
    """
    if all(name in sys.modules for name in _SDK_MODULES):
        return
    try:
        await asyncio.to_thread(_import_sdk)
    except ModuleNotFoundError as exc:
        raise McpServerError(
            f"MCP server {server!r} cannot start: the Python package {exc.name!r} is not "
            "installed; install it with `pip install 'collet_nb[mcp]'` and restart the kernel",
            server=server,
        ) from None


def _import_sdk() -> None:
    try:
        _import_each()
    except ModuleNotFoundError:
        raise
    except Exception:
        # Seen once in many runs under load: jsonschema's format checkers (rfc3987_syntax,
        # a lark grammar built at import) failed with a VisitError. A failed import leaves
        # nothing behind in sys.modules, so one clean second try is sound.
        logger.warning("importing the MCP SDK failed once; trying again", exc_info=True)
        _import_each()


def _import_each() -> None:
    for name in _SDK_MODULES:
        importlib.import_module(name)


def _modern(client: Any) -> bool:
    """Whether the connection speaks 2026-07-28 or later (no client notifications, listen
    streams for list changes)."""
    return str(client.protocol_version) >= _FIRST_MODERN


def _announces_tools(client: Any) -> bool:
    tools = client.server_capabilities.tools
    return tools is not None and bool(tools.list_changed)


async def _list_tools(client: Any) -> tuple[McpTool, ...]:
    tools: list[McpTool] = []
    cursor: str | None = None
    for _ in range(_LIST_PAGES):
        # Past the SDK's response cache: a listing is asked for when it may have changed.
        page = await client.list_tools(cursor=cursor, cache_mode="refresh")
        tools.extend(McpTool.from_listing(tool) for tool in page.tools)
        cursor = page.next_cursor
        if cursor is None:
            break
    return tuple(tools)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (asyncio's child watcher reaps it the moment it exits)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False  # gone, or its pid now belongs to another user's process
    return True


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (possibly nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup):
        inner = [e for e in exc.exceptions if not isinstance(e, asyncio.CancelledError)]
        exc = (inner or list(exc.exceptions))[0]
    return exc


def describe_error(exc: BaseException) -> str:
    """``Type: message`` of an error (just the type when it has no message)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _pages(list_page: Any, items: Any) -> AsyncIterator[Any]:
    """Every item of a paged MCP listing (``list_page(cursor=…)``, ``items(page)``), fresh
    (not the SDK's cache), at most ``_LIST_PAGES`` pages."""
    cursor: str | None = None
    for _ in range(_LIST_PAGES):
        page = await list_page(cursor=cursor, cache_mode="refresh")
        for item in items(page):
            yield item
        cursor = page.next_cursor
        if cursor is None:
            return
