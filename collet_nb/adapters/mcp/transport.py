"""The two ways to reach a server: a stdio child whose process group is registered, or
Streamable HTTP with the configured headers.

The SDK's stdio client spawns the server in a new session (pid == pgid) but does not tell the
pid. A ``/bin/sh`` wrapper writes its own pid to a file and then ``exec``s the server, so the
pid stays the server's: the group is registered before the handshake and, after the SDK's close
sequence (close stdin, wait, SIGTERM, SIGKILL), any process left in it is killed.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, TextIO

import anyio
import anyio.to_thread

from collet_nb.adapters.procs import ProcessRegistry, group_alive
from collet_nb.core.mcp_config import McpServerConfig
from collet_nb.errors import McpServerError

# "$0" is the pid file, "$@" the server's command line; exec keeps the pid.
_WRAPPER = 'echo $$ > "$0" && exec "$@"'
_PID_SECONDS = 5.0  # /bin/sh writes the file within milliseconds; this only bounds the absurd
_PID_POLL = 0.005
# What the SDK connects with before a stream carries a response (it holds streams open long).
_HTTP_CONNECT = 30.0
_HTTP_READ = 300.0
_SESSION_HEADER = "mcp-session-id"
_LOST_SESSION = re.compile(rb"no valid session|session not found|invalid session", re.IGNORECASE)
_BODY_BYTES = 4096


def resolve_command(config: McpServerConfig, cwd: Path) -> str:
    """The server's executable as a path, checked (with ``cwd``) before anything is spawned.

    Raises:
        McpServerError: when it is not found or not executable, saying what to fix.
    """
    if not cwd.is_dir():
        raise McpServerError(
            f"MCP server {config.name!r} could not start: its working directory {cwd} does "
            f"not exist. Fix `cwd` of {config.name!r} in {config.source}, then run "
            f"`/mcp restart {config.name}`",
            server=config.name,
        )
    command = config.command
    if os.sep in command:
        path = Path(command) if os.path.isabs(command) else cwd / command
        found = str(path) if path.is_file() and os.access(path, os.X_OK) else None
    else:
        search = config.env.get("PATH", os.environ.get("PATH", os.defpath))
        found = shutil.which(command, path=search)
    if found is None:
        where = "is not an executable file" if os.sep in command else "was not found on PATH"
        raise McpServerError(
            f"MCP server {config.name!r} could not start: command {command!r} {where}. "
            f"Install it, or fix `command` of {config.name!r} in {config.source}, then run "
            f"`/mcp restart {config.name}`",
            server=config.name,
        )
    return found


@asynccontextmanager
async def stdio_transport(
    config: McpServerConfig,
    *,
    cwd: Path,
    errlog: TextIO,
    pid_dir: Path,
    processes: ProcessRegistry,
    on_pid: Callable[[int], None],
    kill_grace: float,
) -> AsyncIterator[Any]:
    """Start ``config``'s server and yield the SDK's streams to it.

    The server's process group is in ``processes`` from just after the spawn until it is gone.

    Raises:
        McpServerError: when the command is missing or the wrapper never told the pid.
        OSError: when the process cannot be spawned.
    """
    from mcp.client.stdio import StdioServerParameters, stdio_client

    executable = resolve_command(config, cwd)
    pid_file = pid_dir / f".mcp-{config.name}-{uuid.uuid4().hex[:12]}.pid"
    params = StdioServerParameters(
        command="/bin/sh",
        args=["-c", _WRAPPER, str(pid_file), executable, *config.args],
        env=dict(config.env),
        cwd=cwd,
    )
    pid: int | None = None
    try:
        async with stdio_client(params, errlog=errlog) as streams:
            pid = await _read_pid(pid_file, config)
            processes.add(pid)
            on_pid(pid)
            yield streams
    finally:
        # Runs on cancellation too: the group must go and the bookkeeping must follow.
        with anyio.CancelScope(shield=True):
            if pid is not None:
                await _end_group(pid, kill_grace)
                processes.discard(pid)
            pid_file.unlink(missing_ok=True)


async def _read_pid(pid_file: Path, config: McpServerConfig) -> int:
    with anyio.move_on_after(_PID_SECONDS):
        # A file has no event to wait on; /bin/sh writes it within milliseconds.
        while (pid := _written_pid(pid_file)) is None:  # noqa: ASYNC110 - see above
            await anyio.sleep(_PID_POLL)
        return pid
    raise McpServerError(
        f"MCP server {config.name!r} could not start: /bin/sh did not report the server's "
        f"process id within {_PID_SECONDS:g} s; check that {pid_file.parent} is writable",
        server=config.name,
    )


def _written_pid(pid_file: Path) -> int | None:
    try:
        text = pid_file.read_text()
    except FileNotFoundError:
        return None
    # A line without its newline is still being written.
    return int(text) if text.endswith("\n") else None


async def _end_group(pgid: int, grace: float) -> None:
    """Kill what is left of the group (children of a server that exited on stdin EOF)."""
    if not group_alive(pgid):
        return
    group = ProcessRegistry()
    group.add(pgid)
    # kill_all blocks for up to the grace: give it a thread, not the kernel's loop.
    await anyio.to_thread.run_sync(partial(group.kill_all, grace=grace))


def names_lost_session(status: int, body: bytes) -> bool:
    """Whether an answer to a request that carried a session id says the session is gone.

    The spec's answer is 404; servers built on the TypeScript SDK send 400 with
    ``No valid session ID provided`` (their transport map lost it on restart).
    """
    if status == 404:
        return True
    return status == 400 and _LOST_SESSION.search(body[:_BODY_BYTES]) is not None


@asynccontextmanager
async def http_transport(
    url: str, headers: Mapping[str, str], *, on_session_lost: Callable[[], None] | None = None
) -> AsyncIterator[Any]:
    """Yield the SDK's streams to a Streamable HTTP endpoint, ``headers`` on every request.

    ``on_session_lost`` is called when the server answers our session id as unknown (the SDK
    turns that answer into a generic JSON-RPC error, without the status).
    """
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    async def watch(response: Any) -> None:
        if on_session_lost is None or _SESSION_HEADER not in response.request.headers:
            return
        if response.status_code not in (400, 404):
            return
        body = await response.aread() if response.status_code == 400 else b""
        if names_lost_session(response.status_code, body):
            on_session_lost()

    timeout = httpx2.Timeout(_HTTP_CONNECT, read=_HTTP_READ)
    hooks = {"response": [watch]}
    async with (
        httpx2.AsyncClient(headers=dict(headers), timeout=timeout, event_hooks=hooks) as http,
        streamable_http_client(url, http_client=http) as streams,
    ):
        yield streams
