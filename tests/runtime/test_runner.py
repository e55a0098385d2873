"""The runner's promises: FIFO, one turn at a time, explicit terminal states, retry, cancel."""

import asyncio

import pytest

from collet_nb.core.chat import Usage
from collet_nb.core.context import ConversationContext
from collet_nb.core.events import Event, MessageStateChanged, TextDelta, ToolResultReady
from collet_nb.core.ports import RestartChunk, TextChunk, UsageChunk
from collet_nb.core.session import AgentSession
from collet_nb.core.settings import Settings
from collet_nb.errors import ConfigError, ProviderError, UsageError
from collet_nb.runtime.runner import SessionRunner
from tests.support.stand_ins import (
    EchoTools,
    FakeClock,
    FunctionModel,
    MemoryJournal,
    answered_tools,
    call,
    last_user,
    text,
)

STATUS_KEYS = {
    "session_id", "project_dir", "state", "busy", "agent", "provider", "model", "streaming",
    "workspace", "approval", "pending_plan", "pending_tools", "pending_elicitations", "messages",
    "iterations", "tokens", "context", "cost_usd",
}  # fmt: skip


def make_runner(port, *, tools=None, journal=None, **settings) -> SessionRunner:
    settings.setdefault("approval", "yolo")
    s = Settings(**settings)
    return SessionRunner(
        session=AgentSession(
            session_id="sess",
            project_dir="/project",
            context=ConversationContext(system_prompt="", budget=s.context_budget),
        ),
        settings=s,
        provider=port,
        tools=tools or EchoTools(),
        journal=journal or MemoryJournal(),
        clock=FakeClock(),
    )


def run(coro, timeout: float = 10.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def states(runner: SessionRunner) -> dict[str, str]:
    return {m.id: m.state.value for m in runner.session.messages}


def record(runner: SessionRunner) -> list[Event]:
    seen: list[Event] = []
    runner.subscribe(seen.append)
    return seen


def test_a_message_is_answered_with_its_text_streamed_in_order():
    runner = make_runner(FunctionModel(lambda r: text("Hel", "lo ", "there")))

    async def main():
        seen = record(runner)
        msg = runner.send("hi")
        assert runner.session.messages.get(msg.id).state.value == "queued"
        await runner.wait_idle()
        return seen

    seen = run(main())
    assert "".join(e.text for e in seen if isinstance(e, TextDelta)) == "Hello there"
    assert [e.state for e in seen if isinstance(e, MessageStateChanged)] == [
        "queued",
        "running",
        "answered",
    ]
    assert states(runner) == {"m1": "answered"}


def test_messages_sent_while_busy_wait_and_are_answered_in_fifo_order():
    model = FunctionModel(lambda r: text(f"answer to {last_user(r)}"))
    runner = make_runner(model)

    async def main():
        model.gate = asyncio.Event()
        for t in ("one", "two", "three"):
            runner.send(t)
        await asyncio.sleep(0)
        assert [m.text for m in runner.session.queue()] == ["two", "three"]
        assert runner.status()["busy"] is True
        model.gate.set()
        await runner.wait_idle()

    run(main())
    assert [last_user(r) for r in model.requests] == ["one", "two", "three"]
    assert states(runner) == {"m1": "answered", "m2": "answered", "m3": "answered"}
    history = [m.content for m in runner.session.context.messages]
    assert history == ["one", "answer to one", "two", "answer to two", "three", "answer to three"]


def test_the_accepted_message_is_journaled_durably_before_its_turn_starts():
    journal = MemoryJournal()
    seen_at_request: list[int] = []

    def reply(request):
        seen_at_request.append(len(journal.durable))
        return text("ok")

    runner = make_runner(FunctionModel(reply), journal=journal)

    async def main():
        runner.send("remember me")
        await runner.wait_idle()

    run(main())
    assert journal.durable[0]["kind"] == "accepted"
    assert journal.durable[0]["text"] == "remember me"
    assert seen_at_request == [1]


def test_a_failed_turn_keeps_its_reason_and_the_queue_keeps_draining():
    def reply(request):
        if last_user(request) == "bad":
            return ProviderError("the provider is down; check COLLET_BASE_URL")
        return text("fine")

    runner = make_runner(FunctionModel(reply))

    async def main():
        for t in ("bad", "good"):
            runner.send(t)
        await runner.wait_idle()

    run(main())
    assert states(runner) == {"m1": "failed", "m2": "answered"}
    assert runner.session.messages.get("m1").error == "the provider is down; check COLLET_BASE_URL"
    # The failed exchange left no trace in the context, so a retry starts clean.
    assert [m.content for m in runner.session.context.messages] == ["good", "fine"]


def test_retry_resends_the_last_failed_message_as_a_new_message():
    attempts: list[str] = []

    def reply(request):
        attempts.append(last_user(request))
        return ProviderError("flaky") if len(attempts) == 1 else text("worked")

    runner = make_runner(FunctionModel(reply))

    async def main():
        runner.send("try me")
        await runner.wait_idle()
        again = runner.retry()
        await runner.wait_idle()
        return again

    again = run(main())
    assert again.retry_of == "m1"
    assert states(runner) == {"m1": "failed", "m2": "answered"}
    assert attempts == ["try me", "try me"]
    with pytest.raises(UsageError, match="nothing to retry"):
        runner.retry()


def test_cancel_stops_the_turn_and_cancels_the_queue_explicitly_in_order():
    model = FunctionModel(lambda r: text("never"))
    runner = make_runner(model)

    async def main():
        seen = record(runner)
        model.gate = asyncio.Event()  # the first reply never comes
        for t in ("a", "b", "c"):
            runner.send(t)
        await asyncio.sleep(0)
        ids = runner.cancel()
        await asyncio.wait_for(runner.wait_idle(), 1.0)
        return ids, seen

    ids, seen = run(main())
    assert ids == ["m1", "m2", "m3"]
    assert states(runner) == {"m1": "cancelled", "m2": "cancelled", "m3": "cancelled"}
    ends = [(e.message_id, e.state) for e in seen if isinstance(e, MessageStateChanged)]
    assert ends[-3:] == [("m1", "cancelled"), ("m2", "cancelled"), ("m3", "cancelled")]
    assert all(m.error == "cancelled by the user" for m in runner.session.messages)
    assert runner.status()["state"] == "idle"


def test_a_message_sent_after_cancel_runs_normally():
    model = FunctionModel(lambda r: text(f"re {last_user(r)}"))
    runner = make_runner(model)

    async def main():
        model.gate = asyncio.Event()
        runner.send("slow")
        await asyncio.sleep(0)
        runner.cancel()
        model.gate.set()
        runner.send("next")
        await runner.wait_idle()

    run(main())
    assert states(runner) == {"m1": "cancelled", "m2": "answered"}


def test_cancel_during_a_tool_call_keeps_the_context_valid_and_drops_later_output():
    def reply(request):
        if answered_tools(request) == 0:
            return [TextChunk(text="working "), call("hang")]
        return text("done")

    tools = EchoTools()
    runner = make_runner(FunctionModel(reply), tools=tools)

    async def main():
        seen = record(runner)
        runner.send("go")
        await tools.entered.wait()
        runner.cancel()
        await asyncio.wait_for(runner.wait_idle(), 1.0)
        return seen

    seen = run(main())
    assert states(runner) == {"m1": "cancelled"}
    ctx = runner.session.context
    assert ctx.dangling_calls() == []
    assert ctx.messages[-1].role == "tool"
    assert ctx.messages[-1].is_error
    assert not any(isinstance(e, ToolResultReady) for e in seen)


def test_tool_results_go_back_to_the_model_and_the_loop_ends_on_a_reply_without_tools():
    def reply(request):
        if answered_tools(request) == 0:
            return [call("echo", {"text": "pong"}, call_id="x1")]
        tool_msg = request.messages[-1]
        return text(f"the tool said {tool_msg.content}")

    model = FunctionModel(reply)
    runner = make_runner(model)

    async def main():
        seen = record(runner)
        runner.send("ping it")
        await runner.wait_idle()
        return seen

    seen = run(main())
    assert states(runner) == {"m1": "answered"}
    results = [e for e in seen if isinstance(e, ToolResultReady)]
    assert [(r.call_id, r.content, r.is_error) for r in results] == [("x1", "pong", False)]
    assert runner.session.context.messages[-1].content == "the tool said pong"
    assert runner.status()["iterations"] == 2


@pytest.mark.parametrize(
    ("chunk", "expected"),
    [
        (call("echo", "{not json"), "not valid JSON"),
        (call("nope", {}), "unknown tool 'nope'"),
    ],
)
def test_bad_tool_calls_become_errors_the_model_reads_and_the_turn_goes_on(chunk, expected):
    def reply(request):
        return [chunk] if answered_tools(request) == 0 else text("recovered")

    model = FunctionModel(reply)
    runner = make_runner(model)

    async def main():
        runner.send("do it")
        await runner.wait_idle()

    run(main())
    assert states(runner) == {"m1": "answered"}
    tool_msg = model.requests[1].messages[-1]
    assert tool_msg.role == "tool"
    assert tool_msg.is_error
    assert expected in tool_msg.content


def test_the_iteration_limit_fails_the_message_with_a_reason_that_says_what_to_do():
    model = FunctionModel(lambda r: [call("echo", {"text": "again"})])
    runner = make_runner(model, max_iterations=3)

    async def main():
        runner.send("loop forever")
        await runner.wait_idle()

    run(main())
    msg = runner.session.messages.get("m1")
    assert msg.state.value == "failed"
    assert "COLLET_MAX_ITERATIONS" in (msg.error or "")
    assert runner.status()["iterations"] == 3


def test_the_circuit_breaker_stops_a_turn_after_consecutive_tool_failures():
    runner = make_runner(FunctionModel(lambda r: [call("fail")]), circuit_breaker=2)
    seen: list[Event] = []

    async def main():
        runner.subscribe(seen.append)
        runner.send("break things")
        await runner.wait_idle()

    run(main())
    assert runner.session.messages.get("m1").state.value == "failed"
    finished = [e for e in seen if e.type == "turn_finished"]
    assert [e.stop_reason for e in finished] == ["circuit_breaker"]
    assert runner.session.context.dangling_calls() == []


def test_a_turn_past_the_task_timeout_fails_and_the_next_message_runs():
    tools = EchoTools()

    def reply(request):
        if last_user(request) == "stuck" and answered_tools(request) == 0:
            return [call("hang")]
        return text("ok")

    runner = make_runner(FunctionModel(reply), tools=tools, task_timeout=0.2, tool_timeout=60)

    async def main():
        runner.send("stuck")
        runner.send("after")
        await runner.wait_idle()

    run(main())
    assert states(runner) == {"m1": "failed", "m2": "answered"}
    assert "COLLET_TASK_TIMEOUT" in (runner.session.messages.get("m1").error or "")


def test_a_tool_past_its_timeout_is_reported_to_the_model():
    def reply(request):
        return [call("hang")] if answered_tools(request) == 0 else text("moving on")

    model = FunctionModel(reply)
    runner = make_runner(model, tool_timeout=0.05)

    async def main():
        runner.send("wait")
        await runner.wait_idle()

    run(main())
    assert states(runner) == {"m1": "answered"}
    assert "timed out after 0.05 s" in model.requests[1].messages[-1].content


def test_a_restarted_answer_replaces_the_partial_text():
    chunks = [TextChunk(text="dup"), RestartChunk(reason="stream cut"), TextChunk(text="whole")]
    runner = make_runner(FunctionModel(lambda r: [*chunks, UsageChunk(usage=Usage())]))

    async def main():
        runner.send("x")
        await runner.wait_idle()

    run(main())
    assert runner.session.context.messages[-1].content == "whole"


def test_an_empty_message_or_unknown_agent_is_refused_and_nothing_is_queued():
    runner = make_runner(FunctionModel(lambda r: text("x")))

    async def main():
        with pytest.raises(ConfigError, match="empty"):
            runner.send("   ")
        with pytest.raises(ConfigError, match=r"code\|architect\|ask"):
            runner.send("hi", agent="wizard")

    run(main())
    assert len(runner.session.messages) == 0


def test_removing_a_queued_message_cancels_only_that_one():
    model = FunctionModel(lambda r: text("ok"))
    runner = make_runner(model)

    async def main():
        model.gate = asyncio.Event()
        for t in ("a", "b", "c"):
            runner.send(t)
        await asyncio.sleep(0)
        runner.remove("m2")
        with pytest.raises(UsageError):
            runner.remove("m1")
        model.gate.set()
        await runner.wait_idle()

    run(main())
    assert states(runner) == {"m1": "answered", "m2": "cancelled", "m3": "answered"}


def test_status_has_every_key_of_the_contract_and_counts_tokens():
    runner = make_runner(FunctionModel(lambda r: text("x")), model="demo")

    async def main():
        runner.send("hi")
        await runner.wait_idle()

    run(main())
    status = runner.status()
    assert set(status) == STATUS_KEYS
    assert status["tokens"] == {"prompt": 10, "completion": 0}
    assert status["messages"] == [
        {"id": "m1", "text": "hi", "state": "answered", "status": "answered", "error": None}
    ]
    assert status["context"]["used"] > 0


def test_ask_agent_offers_the_model_no_tools():
    model = FunctionModel(lambda r: text("just talk"))
    runner = make_runner(model)

    async def main():
        runner.send("explain", agent="ask")
        runner.send("do")
        await runner.wait_idle()

    run(main())
    assert model.requests[0].tools == ()
    assert len(model.requests[1].tools) == 3


def test_a_specific_failed_message_can_be_retried_once():
    def reply(request):
        return ProviderError("down") if last_user(request).startswith("x") else text("ok")

    runner = make_runner(FunctionModel(reply))

    async def main():
        for t in ("x1", "x2"):
            runner.send(t)
        await runner.wait_idle()
        again = runner.retry("m1")
        with pytest.raises(UsageError, match="retried already"):
            runner.retry("m1")
        with pytest.raises(UsageError, match="not a failed message"):
            runner.retry("m3")
        await runner.wait_idle()
        return again

    again = run(main())
    assert (again.id, again.retry_of, again.text) == ("m3", "m1", "x1")


def test_the_session_says_when_it_is_idle_again():
    runner = make_runner(FunctionModel(lambda r: text("ok")))

    async def main():
        seen = record(runner)
        runner.send("hi")
        await runner.wait_idle()
        return seen

    seen = run(main())
    assert seen[-1].to_dict() == {"type": "phase", "message_id": "m1", "phase": "idle"}


def test_status_and_cost_say_what_the_session_spent_where_the_price_is_known():
    from collet_nb.runtime.commands import cost_line

    priced = make_runner(
        FunctionModel(lambda _r: text("hi")), provider="openai",
        base_url="https://api.openai.com/v1", model="gpt-4o",
    )  # fmt: skip
    local = make_runner(
        FunctionModel(lambda _r: text("hi")), provider="openai",
        base_url="http://127.0.0.1:11434/v1", model="llama3.1",
    )  # fmt: skip
    demo = make_runner(FunctionModel(lambda _r: text("hi")))

    async def turn(runner):
        runner.send("hello")
        await runner.wait_idle()

    for runner in (priced, local, demo):
        run(turn(runner))
    assert priced.status()["cost_usd"] > 0
    assert "$0.0000 (prices from genai-prices " in cost_line(priced)  # 10 tokens: a tiny sum
    assert local.status()["cost_usd"] is None
    assert "no price known for llama3.1 at http://127.0.0.1:11434/v1" in cost_line(local)
    assert demo.status()["cost_usd"] is None
    assert cost_line(demo).endswith("the demo provider costs nothing")
