"""The MCP server lifecycle: the table of moves is the whole story."""

import pytest

from collet_nb.adapters.mcp.state import SERVER_MOVES, ServerLifecycle, ServerState
from collet_nb.errors import IllegalTransition


def test_every_state_has_a_row_and_a_disabled_server_can_never_move():
    assert set(SERVER_MOVES) == set(ServerState)
    assert SERVER_MOVES[ServerState.DISABLED] == frozenset()


def test_a_server_lives_starts_fails_restarts_and_stops_through_allowed_moves():
    life = ServerLifecycle()
    path = [
        ServerState.STARTING, ServerState.RUNNING, ServerState.FAILED, ServerState.STARTING,
        ServerState.RUNNING, ServerState.STOPPING, ServerState.STOPPED, ServerState.STARTING,
        ServerState.STOPPING, ServerState.STOPPED,
    ]  # fmt: skip
    for state in path:
        life.move(state)
    assert life.state is ServerState.STOPPED


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (ServerState.CONFIGURED, ServerState.RUNNING),
        (ServerState.DISABLED, ServerState.STARTING),
        (ServerState.STOPPING, ServerState.RUNNING),
        (ServerState.STOPPED, ServerState.RUNNING),
        (ServerState.RUNNING, ServerState.STARTING),
    ],
)
def test_a_move_the_table_forbids_raises_and_changes_nothing(start, target):
    life = ServerLifecycle(start)
    assert not life.can_move(target)
    with pytest.raises(IllegalTransition) as info:
        life.move(target)
    assert (info.value.machine, info.value.source, info.value.target) == (
        "mcp_server", start.value, target.value,
    )  # fmt: skip
    assert life.state is start
