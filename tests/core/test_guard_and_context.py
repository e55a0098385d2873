import pytest
from hypothesis import given
from hypothesis import strategies as st

from collet_nb.core.chat import ChatMessage, ToolCall
from collet_nb.core.context import (
    MESSAGE_OVERHEAD,
    ConversationContext,
    estimate_tokens,
    group_units,
    message_tokens,
)
from collet_nb.core.events import (
    EVENT_TYPES,
    ElicitationRequested,
    ElicitationResolved,
    MessageStateChanged,
    Notice,
    RetryWaiting,
    StatusUpdate,
    TextDelta,
    ToolProgress,
    event_from_dict,
)
from collet_nb.core.guard import Guard
from collet_nb.errors import GuardStop


def test_the_guard_stops_after_the_iteration_limit():
    g = Guard(max_iterations=2, breaker_threshold=3)
    assert g.next_iteration() == 1
    assert g.next_iteration() == 2
    with pytest.raises(GuardStop) as info:
        g.next_iteration()
    assert info.value.limit == "max_iterations"


def test_the_breaker_trips_on_consecutive_failures_and_a_success_resets_it():
    g = Guard(max_iterations=50, breaker_threshold=3)
    g.record_tool(success=False)
    g.record_tool(success=False)
    g.record_tool(success=True)
    g.record_tool(success=False)
    g.record_tool(success=False)
    with pytest.raises(GuardStop) as info:
        g.record_tool(success=False)
    assert info.value.limit == "circuit_breaker"


def test_a_zero_threshold_disables_the_breaker():
    g = Guard(max_iterations=1, breaker_threshold=0)
    for _ in range(10):
        g.record_tool(success=False)


def test_tokens_are_estimated_from_utf8_bytes():
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcdefg") == 2  # 7 bytes / 3.5
    assert estimate_tokens("é" * 7) == 4  # 14 bytes / 3.5
    assert message_tokens(ChatMessage(role="user", content="abcdefg")) == MESSAGE_OVERHEAD + 2


def test_usage_reports_calibrate_the_estimate_within_bounds():
    ctx = ConversationContext(system_prompt="", budget=1000)
    ctx.append(ChatMessage(role="user", content="x" * 350))
    raw = ctx.used()
    ctx.calibrate(reported=raw * 2, estimated=raw)
    assert ctx.used() == raw * 2
    ctx.calibrate(reported=raw * 100, estimated=raw)
    assert ctx.used() == raw * 4


def tool_exchange(i: int, size: int = 200) -> list[ChatMessage]:
    call = ToolCall(id=f"c{i}", name="file_read", arguments='{"path": "a"}')
    return [
        ChatMessage(role="user", content=f"ask {i} " + "x" * size),
        ChatMessage(role="assistant", content="", tool_calls=(call,)),
        ChatMessage(role="tool", content="y" * size, tool_call_id=f"c{i}", name="file_read"),
        ChatMessage(role="assistant", content=f"answer {i}"),
    ]


def test_compaction_triggers_at_eighty_percent_and_brings_the_context_under_budget():
    ctx = ConversationContext(system_prompt="sys", budget=1000)
    i = 0
    while not ctx.needs_compaction():
        ctx.messages.extend(tool_exchange(i))
        i += 1
    assert ctx.used() >= 800
    result = ctx.compact()
    assert result is not None
    assert result.tokens_after < 800 <= result.tokens_before
    assert ctx.messages[0].content.startswith("[Earlier conversation compacted")
    assert "ask 0" in ctx.messages[0].content
    assert ctx.messages[-1].content == f"answer {i - 1}"


@given(st.lists(st.integers(min_value=0, max_value=600), min_size=2, max_size=30))
def test_compaction_never_separates_a_tool_call_from_its_result(sizes):
    ctx = ConversationContext(system_prompt="", budget=2000)
    for i, size in enumerate(sizes):
        ctx.messages.extend(tool_exchange(i, size))
    ctx.compact()
    seen_calls: set[str] = set()
    for m in ctx.messages:
        seen_calls.update(c.id for c in m.tool_calls)
        if m.role == "tool":
            assert m.tool_call_id in seen_calls
    assert not ctx.dangling_calls()


def test_repair_answers_dangling_tool_calls_so_the_context_stays_valid():
    ctx = ConversationContext(system_prompt="", budget=1000)
    calls = (ToolCall(id="a", name="bash"), ToolCall(id="b", name="file_read"))
    ctx.append(ChatMessage(role="user", content="go"))
    ctx.append(ChatMessage(role="assistant", tool_calls=calls))
    ctx.append(ChatMessage(role="tool", content="ok", tool_call_id="a", name="bash"))
    assert ctx.dangling_calls() == [("b", "file_read")]
    assert ctx.repair("cancelled by the user") == 1
    assert ctx.messages[-1].tool_call_id == "b"
    assert ctx.messages[-1].is_error
    assert ctx.dangling_calls() == []


def test_units_group_a_call_with_all_of_its_results_only():
    call = ToolCall(id="a", name="bash")
    msgs = [
        ChatMessage(role="assistant", tool_calls=(call,)),
        ChatMessage(role="tool", tool_call_id="a", name="bash"),
        ChatMessage(role="tool", tool_call_id="zzz", name="bash"),
    ]
    assert [len(u) for u in group_units(msgs)] == [2, 1]


def test_invalid_tool_arguments_explain_what_to_send():
    with pytest.raises(ValueError, match="not valid JSON"):
        ToolCall(id="1", name="bash", arguments="{oops").parsed_arguments()
    with pytest.raises(ValueError, match="JSON object"):
        ToolCall(id="1", name="bash", arguments="[1]").parsed_arguments()
    assert ToolCall(id="1", name="bash", arguments="").parsed_arguments() == {}


def test_chat_messages_round_trip_through_their_dict_form():
    m = ChatMessage(
        role="assistant", content="x", tool_calls=(ToolCall(id="1", name="a", arguments="{}"),)
    )
    assert ChatMessage.from_dict(m.to_dict()) == m


def test_every_event_type_round_trips_through_json_form():
    assert len(EVENT_TYPES) == 22
    for ev in (
        TextDelta(message_id="m1", text="hi"),
        Notice(message_id="m1", text="server 'git' did not start", level="warning"),
        MessageStateChanged(message_id="m1", state="failed", error="x"),
        ToolProgress(message_id="m1", call_id="c1", server="s", progress=2, total=3, message="m"),
        RetryWaiting(
            message_id="m1",
            reason="rate limited (HTTP 429)",
            detail="openai returned HTTP 429 Too Many Requests.",
            wait_s=2.0,
            until=1_700_000_002.0,
            attempt=2,
            attempts=5,
        ),
        StatusUpdate(
            message_id="m1",
            iteration=1,
            prompt_tokens=2,
            completion_tokens=3,
            context_used=4,
            context_budget=5,
        ),
        ElicitationRequested(
            message_id="m1",
            elicitation_id="e1",
            server="s",
            message="Who?",
            mode="form",
            fields=[{"name": "name", "type": "string", "required": True, "options": []}],
        ),
        ElicitationResolved(
            message_id="m1",
            elicitation_id="e1",
            action="accept",
            content='{"name": "Ada"}',
            by="button",
            at=1.5,
            server="s",
        ),
    ):
        assert event_from_dict(ev.to_dict()) == ev
    with pytest.raises(ValueError, match="unknown event type"):
        event_from_dict({"type": "nope"})
