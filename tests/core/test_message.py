import pytest
from hypothesis import given
from hypothesis import strategies as st

from collet_nb.core.context import ConversationContext
from collet_nb.core.message import (
    MESSAGE_MOVES,
    TERMINAL_STATES,
    MessageLog,
    MessageState,
    UserMessage,
)
from collet_nb.core.plan import PendingPlan, PlanState
from collet_nb.core.replay import replay, state_record
from collet_nb.core.session import AgentSession, SessionState
from collet_nb.errors import IllegalTransition


def new_session() -> AgentSession:
    return AgentSession(
        session_id="s",
        project_dir="/p",
        context=ConversationContext(system_prompt="", budget=100),
    )


def test_a_message_runs_then_ends_in_one_terminal_state():
    m = UserMessage(id="m1", seq=1, text="hi")
    m = m.moved_to(MessageState.RUNNING).moved_to(MessageState.ANSWERED)
    assert m.state is MessageState.ANSWERED
    assert m.state.terminal


@pytest.mark.parametrize("terminal", sorted(TERMINAL_STATES))
def test_a_terminal_message_cannot_move_again(terminal):
    m = UserMessage(id="m1", seq=1, text="hi").moved_to(MessageState.RUNNING).moved_to(terminal)
    for state in MessageState:
        with pytest.raises(IllegalTransition) as info:
            m.moved_to(state)
        assert info.value.machine == "message"
        assert info.value.source == terminal.value


def test_a_queued_message_cannot_be_answered_without_running():
    with pytest.raises(IllegalTransition):
        UserMessage(id="m1", seq=1, text="hi").moved_to(MessageState.ANSWERED)


@given(st.lists(st.sampled_from(list(MessageState)), max_size=6))
def test_any_walk_through_the_table_is_legal_and_everything_else_raises(path):
    m = UserMessage(id="m1", seq=1, text="x")
    for target in path:
        if target in MESSAGE_MOVES[m.state]:
            m = m.moved_to(target)
        else:
            with pytest.raises(IllegalTransition):
                m.moved_to(target)


def test_queue_drains_fifo_with_ids_in_sending_order():
    s = new_session()
    assert s.messages.next_id == "m1"
    a, b, c = (s.enqueue(t) for t in ("a", "b", "c"))
    assert [a.id, b.id, c.id] == ["m1", "m2", "m3"]
    assert [m.seq for m in (a, b, c)] == [1, 2, 3]
    assert s.messages.next_id == "m4"
    assert [m.id for m in s.queue()] == [a.id, b.id, c.id]
    first = s.drain_next()
    assert first is not None
    assert first.id == a.id
    assert first.state is MessageState.RUNNING
    assert [m.id for m in s.queue()] == [b.id, c.id]


def test_state_records_replay_to_the_same_states():
    records = [
        {"kind": "accepted", "id": "m1", "seq": 1, "text": "a"},
        {"kind": "accepted", "id": "m2", "seq": 2, "text": "b", "at": 5.0},  # "at": not read
        state_record("m1", MessageState.RUNNING),
        state_record("m1", MessageState.FAILED, "boom"),
        state_record("m2", MessageState.CANCELLED, "removed"),
    ]
    assert records[2] == {"kind": "state", "id": "m1", "state": "running", "error": None}
    image = replay(records)
    assert image.skipped == []
    assert [(m.id, m.state, m.error) for m in image.messages] == [
        ("m1", MessageState.FAILED, "boom"),
        ("m2", MessageState.CANCELLED, "removed"),
    ]


def test_last_failed_skips_failures_that_were_already_retried():
    log = MessageLog()
    log.add(UserMessage(id="m1", seq=1, text="a"))
    log.move("m1", MessageState.RUNNING)
    log.move("m1", MessageState.FAILED, error="boom")
    failed = log.last_failed()
    assert failed is not None
    assert failed.id == "m1"
    log.add(UserMessage(id="m2", seq=2, text="a", retry_of="m1"))
    assert log.last_failed() is None


def test_session_states_follow_their_table_and_busy_derives_from_them():
    s = new_session()
    assert not s.busy
    s.move(SessionState.RUNNING)
    assert s.busy
    s.move(SessionState.AWAITING_APPROVAL)
    assert s.busy
    s.move(SessionState.RUNNING)
    s.move(SessionState.AWAITING_PLAN)
    assert not s.busy
    with pytest.raises(IllegalTransition):
        s.move(SessionState.AWAITING_APPROVAL)


def test_a_plan_is_approved_or_rejected_once():
    plan = PendingPlan(plan="1. do it")
    approved = plan.moved_to(PlanState.APPROVED)
    with pytest.raises(IllegalTransition):
        approved.moved_to(PlanState.REJECTED)
