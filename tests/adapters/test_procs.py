"""The process-group registry: bookkeeping, listeners, and kill_all on real process groups."""

from __future__ import annotations

import os
import subprocess

import pytest

from collet_nb.adapters.procs import ProcessRegistry, group_alive, signal_group


def start_group(script: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["/bin/bash", "-c", script], start_new_session=True)


def test_the_registry_tells_listeners_of_every_add_and_remove():
    registry = ProcessRegistry()
    events = []
    registry.add_listener(lambda event, pgid: events.append((event, pgid)))
    registry.add(4242)
    registry.add(4242)  # already there: no second event
    registry.discard(4242)
    registry.discard(4242)  # already gone: no second event
    assert events == [("add", 4242), ("remove", 4242)]
    assert len(registry) == 0


def test_a_new_listener_is_first_told_of_the_groups_already_recorded():
    registry = ProcessRegistry()
    registry.add(5001)
    registry.add(5000)
    events = []
    registry.add_listener(lambda event, pgid: events.append((event, pgid)))
    assert events == [("add", 5000), ("add", 5001)]


def test_a_removed_listener_is_no_longer_called():
    registry = ProcessRegistry()
    events = []

    def listener(event, pgid):
        events.append((event, pgid))

    registry.add_listener(listener)
    registry.remove_listener(listener)
    registry.add(4242)
    assert events == []


def test_a_failing_listener_is_logged_and_does_not_stop_the_bookkeeping(caplog):
    registry = ProcessRegistry()

    def broken(event, pgid):
        raise BrokenPipeError("watchdog gone")

    registry.add_listener(broken)
    registry.add(4242)
    assert 4242 in registry
    assert "listener failed" in caplog.text


@pytest.mark.parametrize("pgid", [0, 1, -5, os.getpgrp()])
def test_the_registry_refuses_groups_that_would_reach_the_kernel_or_everything(pgid):
    with pytest.raises(ValueError, match="refusing"):
        ProcessRegistry().add(pgid)
    with pytest.raises(ValueError, match="refusing"):
        signal_group(pgid, 0)


def test_kill_all_ends_every_registered_group_and_forgets_it():
    registry = ProcessRegistry()
    children = [start_group("sleep 300 & sleep 300"), start_group("sleep 300")]
    try:
        for child in children:
            registry.add(child.pid)
        assert all(group_alive(child.pid) for child in children)
        registry.kill_all(grace=5)
        assert [child.wait(timeout=10) for child in children] == [-15, -15]
        assert not any(group_alive(child.pid) for child in children)
        assert registry.pgids() == frozenset()
    finally:
        for child in children:
            child.kill()
            child.wait(timeout=10)


def test_kill_all_sends_sigkill_to_a_group_that_ignores_sigterm():
    registry = ProcessRegistry()
    child = subprocess.Popen(
        ["/bin/bash", "-c", "trap '' TERM; sleep 300 & echo ready; wait"],
        start_new_session=True,
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"  # the trap is in place before the kill
        child.stdout.close()
        registry.add(child.pid)
        registry.kill_all(grace=0.2)
        assert child.wait(timeout=10) == -9
        assert not group_alive(child.pid)
    finally:
        child.kill()
        child.wait(timeout=10)


def test_kill_all_ignores_a_group_that_is_already_gone():
    registry = ProcessRegistry()
    child = start_group("exit 0")
    child.wait(timeout=10)
    registry.add(child.pid)
    registry.kill_all(grace=0.1)
    assert len(registry) == 0
