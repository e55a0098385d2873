"""An MCP server's lifecycle (configured → starting → running → stopping → stopped | failed) and
the status record ``/mcp list`` shows.

``SERVER_MOVES`` is the whole lifecycle; any other move raises IllegalTransition.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from collet_nb.errors import IllegalTransition


class ServerState(StrEnum):
    """Where a configured MCP server is in its life."""

    CONFIGURED = "configured"  # listed, never started yet
    DISABLED = "disabled"  # "disabled": true in mcp.json: never started
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"  # did not start, died, or lost its connection


SERVER_MOVES: dict[ServerState, frozenset[ServerState]] = {
    ServerState.CONFIGURED: frozenset({ServerState.STARTING}),
    ServerState.DISABLED: frozenset(),
    ServerState.STARTING: frozenset(
        {ServerState.RUNNING, ServerState.FAILED, ServerState.STOPPING}
    ),
    ServerState.RUNNING: frozenset({ServerState.STOPPING, ServerState.FAILED}),
    ServerState.STOPPING: frozenset({ServerState.STOPPED}),
    ServerState.STOPPED: frozenset({ServerState.STARTING}),
    ServerState.FAILED: frozenset({ServerState.STARTING, ServerState.STOPPING}),
}


class ServerLifecycle:
    """The current state of one server; ``move`` checks every change against the table."""

    def __init__(self, state: ServerState = ServerState.CONFIGURED) -> None:
        self._state = state

    @property
    def state(self) -> ServerState:
        """The state now."""
        return self._state

    def can_move(self, target: ServerState) -> bool:
        """Whether ``target`` is allowed from the state now."""
        return target in SERVER_MOVES[self._state]

    def move(self, target: ServerState) -> None:
        """Change to ``target``.

        Raises:
            IllegalTransition: when the table does not allow it (a bug in the caller).
        """
        if not self.can_move(target):
            raise IllegalTransition(
                machine="mcp_server", source=self._state.value, target=target.value
            )
        self._state = target


@dataclass(frozen=True, kw_only=True)
class ServerStatus:
    """One server as ``/mcp list`` shows it.

    Attributes:
        name: its name in mcp.json.
        state: where it is in its life.
        transport: ``stdio`` or ``http``.
        source: the mcp.json it came from.
        target: the command line or URL as the file writes it (no secrets).
        tools: how many tools it offers (from its last listing; those that need tasks not
            counted).
        pid: the process (and process-group) id of a running stdio server.
        last_error: why it failed last, with its last stderr lines and what to do.
        log_path: the file a stdio server's stderr and a server's log notifications go to.
        not_offered: tools it lists that are not offered to the model, with why (a tool whose
            ``execution.taskSupport`` is ``required``: MCP tasks are not supported).
    """

    name: str
    state: ServerState
    transport: str
    source: str
    target: str
    tools: int = 0
    pid: int | None = None
    last_error: str | None = None
    log_path: str | None = None
    not_offered: tuple[str, ...] = ()
