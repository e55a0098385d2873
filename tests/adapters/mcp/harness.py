"""What the MCP manager's tests share: server entries, a manager on a temp dir, bounded waits,
the in-repo server over Streamable HTTP as a subprocess that is always killed, and
``@modelcontextprotocol/server-everything`` installed from npm (once, into a cache folder).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from collet_nb.adapters.mcp import McpManager
from collet_nb.adapters.procs import ProcessRegistry, group_alive
from collet_nb.core.chat import ToolCall, ToolResult
from collet_nb.core.mcp_config import parse_mcp_config
from tests.support.npm import NPM_CACHE, npm_install

SERVER = str(Path(__file__).resolve().parents[2] / "support" / "mcp_server.py")
TIME_SERVER = str(Path(sys.executable).parent / "mcp-server-time")
BOUND = 60.0  # no scenario may take longer, whatever goes wrong
EVERYTHING = "@modelcontextprotocol/server-everything@2026.8.31"


def run(coro: Any, timeout: float = BOUND) -> Any:
    """Run a scenario on a fresh event loop, bounded."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def stdio(*flags: str, **fields: Any) -> dict[str, Any]:
    """An mcp.json entry starting the in-repo server over stdio."""
    return {"command": sys.executable, "args": [SERVER, "stdio", *flags], **fields}


def make_manager(
    tmp_path: Path,
    servers: dict[str, Any],
    *,
    env: dict[str, str] | None = None,
    processes: ProcessRegistry | None = None,
    **options: Any,
) -> McpManager:
    """A manager for ``servers`` (mcp.json entries), logging under ``tmp_path/logs``."""
    configs = parse_mcp_config(
        json.dumps({"mcpServers": servers}), source=str(tmp_path / "mcp.json"), env=env or {}
    )
    return McpManager(
        configs,
        log_dir=tmp_path / "logs",
        processes=processes if processes is not None else ProcessRegistry(),
        project_dir=tmp_path,
        **options,
    )


@asynccontextmanager
async def managing(
    tmp_path: Path, servers: dict[str, Any], **options: Any
) -> AsyncIterator[McpManager]:
    """``make_manager``, closed on the way out whatever happened."""
    manager = make_manager(tmp_path, servers, **options)
    try:
        yield manager
    finally:
        await manager.aclose()


def recorded() -> tuple[ProcessRegistry, list[tuple[str, int]]]:
    """A registry and the list of its ``(event, pgid)`` changes."""
    registry = ProcessRegistry()
    events: list[tuple[str, int]] = []
    registry.add_listener(lambda event, pgid: events.append((event, pgid)))
    return registry, events


async def use(manager: McpManager, name: str, /, **arguments: Any) -> ToolResult:
    """Call one tool the way the loop does."""
    call = ToolCall(id="call-1", name=name, arguments=json.dumps(arguments))
    return await manager.call(call, arguments)


async def wait_until(condition: Callable[[], bool], *, timeout: float = 5.0) -> None:
    """Poll ``condition`` (another process's end has no event to wait on), bounded."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.02)


def gone(pid: int) -> bool:
    """Whether no live process is left in group ``pid``."""
    return not group_alive(pid)


def group_members(pgid: int) -> list[int]:
    """The live processes of group ``pgid``, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[-1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            found.append(int(entry))
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def everything_server() -> Path:
    """The server-everything entry point (``dist/index.js``), installed from npm if missing.

    Raises:
        pytest's Failed: when npm is missing or the install fails, saying what to do.
    """
    entry = NPM_CACHE / "node_modules/@modelcontextprotocol/server-everything/dist/index.js"
    return entry if entry.is_file() else npm_install(EVERYTHING, entry)


def everything_stdio(**fields: Any) -> dict[str, Any]:
    """An mcp.json entry starting server-everything over stdio (with node)."""
    node = shutil.which("node") or "node"
    return {"command": node, "args": [str(everything_server()), "stdio"], **fields}


@contextmanager
def http_server(
    log: Path, port: int | None = None, *flags: str, everything: bool = False
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The in-repo server (or server-everything) over Streamable HTTP on loopback: yields its
    URL and process."""
    port = port or free_port()
    if everything:
        argv = [shutil.which("node") or "node", str(everything_server()), "streamableHttp"]
    else:
        argv = [sys.executable, SERVER, "http", str(port), *flags]
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            start_new_session=True,
            env={**os.environ, "PORT": str(port)},
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"test HTTP server did not come up: {log.read_text()}"
                    ) from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp", proc
    finally:
        stop_process(proc)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
