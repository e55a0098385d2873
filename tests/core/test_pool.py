"""The seed's session-pool tests (collet src/remote/session.rs), ported, plus eviction details."""

from collet_nb.core.context import ConversationContext
from collet_nb.core.kinds import ChannelId, StreamingLevel, WorkspaceScope
from collet_nb.core.pool import SessionPool
from collet_nb.core.session import AgentSession, SessionState


def make_session(project: str, *, now: float = 0.0) -> AgentSession:
    return AgentSession(
        session_id=f"s-{project}",
        project_dir=project,
        context=ConversationContext(system_prompt="test", budget=1000, threshold=0.8),
        streaming_level=StreamingLevel.COMPACT,
        workspace_scope=WorkspaceScope.PROJECT,
        last_activity=now,
    )


def test_crud():
    pool = SessionPool(300)
    ch = ChannelId.new("telegram", "123")

    assert pool.get(ch) is None
    pool.insert(ch, make_session("/home/user/app"))
    assert pool.contains(ch)
    assert len(pool) == 1

    session = pool.get(ch)
    assert session is not None
    assert session.project_dir == "/home/user/app"

    pool.remove(ch)
    assert len(pool) == 0


def test_evict_stale():
    pool = SessionPool(0)  # 0 second timeout = everything stale
    ch = ChannelId.new("slack", "C01")
    pool.insert(ch, make_session("/tmp"))

    evicted = pool.evict_stale(now=0.0)
    assert len(evicted) == 1
    assert len(pool) == 0


def test_should_notify_cooldown():
    s = make_session("/x")
    # First call: no previous notification → should send
    assert s.should_notify(now=100.0, cooldown_secs=300)
    # Immediate second call: within cooldown → should NOT send
    assert not s.should_notify(now=100.0, cooldown_secs=300)
    # Zero-second cooldown → always sends
    assert s.should_notify(now=100.0, cooldown_secs=0)


def test_notify_is_allowed_again_once_the_cooldown_has_passed():
    s = make_session("/x")
    assert s.should_notify(now=0.0, cooldown_secs=60)
    assert not s.should_notify(now=59.9, cooldown_secs=60)
    assert s.should_notify(now=60.0, cooldown_secs=60)


def test_eviction_skips_busy_sessions_and_fresh_ones_and_hands_back_the_evicted():
    pool = SessionPool(300)
    old_idle, old_busy, fresh = (ChannelId.new("jupyter", n) for n in ("a", "b", "c"))
    pool.insert(old_idle, make_session("/a", now=0.0))
    busy = make_session("/b", now=0.0)
    busy.state = SessionState.AWAITING_APPROVAL
    pool.insert(old_busy, busy)
    pool.insert(fresh, make_session("/c", now=900.0))

    evicted = pool.evict_stale(now=1000.0)

    assert [(ch, s.project_dir) for ch, s in evicted] == [(old_idle, "/a")]
    assert pool.channels() == [old_busy, fresh]


def test_inserting_over_a_channel_returns_the_replaced_session():
    pool = SessionPool(300)
    ch = ChannelId.new("jupyter", "nb.ipynb")
    first = make_session("/first")
    assert pool.insert(ch, first) is None
    assert pool.insert(ch, make_session("/second")) is first


def test_channel_ids_with_and_without_thread_are_distinct_and_readable():
    a = ChannelId.new("jupyter", "nb.ipynb")
    b = ChannelId.new("jupyter", "nb.ipynb", "t1")
    assert a != b
    assert str(a) == "jupyter:nb.ipynb"
    assert str(b) == "jupyter:nb.ipynb#t1"
