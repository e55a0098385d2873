"""Approvals and plans: what runs when, what the model is told, what the user sees."""

import asyncio

import pytest

from collet_nb.core.approval import needs_approval
from collet_nb.core.chat import ToolSpec
from collet_nb.core.events import ApprovalRequested, ApprovalResolved, Event, PlanReady
from collet_nb.core.kinds import ApprovalMode
from collet_nb.errors import UsageError
from tests.runtime.test_runner import make_runner, run, states
from tests.support.stand_ins import (
    EchoTools,
    FunctionModel,
    answered_tools,
    call,
    last_user,
    text,
)

READ = ToolSpec(name="file_read", description="", read_only=True)
WRITE = ToolSpec(name="file_write", description="")


@pytest.mark.parametrize(
    ("mode", "spec", "allowed", "asks"),
    [
        (ApprovalMode.YOLO, WRITE, (), False),
        (ApprovalMode.AUTO, READ, (), False),
        (ApprovalMode.AUTO, WRITE, (), True),
        (ApprovalMode.AUTO, WRITE, ("file_write",), False),
        (ApprovalMode.MANUAL, READ, (), True),
        (ApprovalMode.MANUAL, READ, ("file_read",), False),
    ],
)
def test_which_calls_ask_follows_the_mode_and_the_session_cache(mode, spec, allowed, asks):
    assert needs_approval(mode=mode, spec=spec, session_allowed=allowed) is asks


def tool_then_answer(name="fail", args=None):
    def reply(request):
        if answered_tools(request) == 0:
            return [call(name, args or {})]
        return text(f"model saw: {request.messages[-1].content}")

    return reply


def test_in_manual_mode_no_tool_runs_before_allow_and_the_queue_holds():
    tools = EchoTools()
    runner = make_runner(FunctionModel(tool_then_answer("echo", {"text": "hi"})), tools=tools,
                         approval="manual")  # fmt: skip

    async def main():
        seen: list[Event] = []
        runner.subscribe(seen.append)
        runner.send("first")
        runner.send("second")
        state = await runner.wait_idle()
        assert state.value == "awaiting_approval"
        assert runner.status()["busy"] is True
        assert tools.calls == []
        assert [m.text for m in runner.session.queue()] == ["second"]
        pending = runner.status()["pending_tools"]
        assert [(p["name"], p["arguments"]) for p in pending] == [("echo", '{"text": "hi"}')]
        assert runner.allow(by="button") == pending[0]["call_id"]
        while (await runner.wait_idle()).value == "awaiting_approval":
            runner.allow()
        return seen

    seen = run(main())
    assert tools.calls[0] == ("echo", {"text": "hi"})
    assert states(runner) == {"m1": "answered", "m2": "answered"}
    resolved = [e for e in seen if isinstance(e, ApprovalResolved)]
    assert (resolved[0].decision, resolved[0].by) == ("allow_once", "button")
    # The audit trail: one journal line says which tool, with what, who decided and when.
    audit = [
        r for r in runner.journal.records
        if r["kind"] == "event" and r["event"]["type"] == "approval_resolved"
    ]  # fmt: skip
    first = audit[0]
    assert (first["event"]["name"], first["event"]["arguments"]) == ("echo", '{"text": "hi"}')
    assert (first["event"]["decision"], first["event"]["by"]) == ("allow_once", "button")
    assert first["at"] > 0


def test_deny_reaches_the_model_as_a_tool_result_with_the_reason():
    model = FunctionModel(tool_then_answer("fail"))
    tools = EchoTools()
    runner = make_runner(model, tools=tools, approval="auto")

    async def main():
        runner.send("try")
        await runner.wait_idle()
        runner.deny(reason="not on my machine")
        await runner.wait_idle()

    run(main())
    assert tools.calls == []
    assert states(runner) == {"m1": "answered"}
    assert runner.session.context.messages[-1].content == (
        "model saw: the user denied this fail call: not on my machine"
    )


def test_allow_for_session_skips_the_next_ask_for_that_tool():
    runner = make_runner(FunctionModel(tool_then_answer("fail")), approval="manual")
    asked: list[Event] = []

    async def main():
        runner.subscribe(lambda e: asked.append(e) if isinstance(e, ApprovalRequested) else None)
        runner.send("one")
        await runner.wait_idle()
        runner.allow(for_session=True)
        await runner.wait_idle()
        runner.send("two")
        return await runner.wait_idle()

    assert run(main()).value == "idle"
    assert len(asked) == 1
    assert states(runner) == {"m1": "answered", "m2": "answered"}


def test_cancel_while_waiting_denies_and_the_message_ends_cancelled():
    tools = EchoTools()
    runner = make_runner(FunctionModel(tool_then_answer("fail")), tools=tools, approval="auto")

    async def main():
        runner.send("risky")
        await runner.wait_idle()
        assert runner.status()["pending_tools"]
        runner.cancel()
        return await asyncio.wait_for(runner.wait_idle(), 1.0)

    assert run(main()).value == "idle"
    assert tools.calls == []
    assert states(runner) == {"m1": "cancelled"}
    assert runner.status()["pending_tools"] == []
    assert runner.session.context.dangling_calls() == []


def test_allow_or_deny_with_nothing_waiting_says_so():
    runner = make_runner(FunctionModel(lambda r: text("x")))
    with pytest.raises(UsageError, match="no tool call is waiting"):
        runner.allow()
    with pytest.raises(UsageError, match="no tool call is waiting"):
        runner.deny()


def architect_model():
    def reply(request):
        if "architect" in request.system:
            if answered_tools(request) == 0:
                return [call("echo", {"text": "look around"})]
            return text("1. write the file\n2. test it")
        return text(f"carried out: {last_user(request)[:40]}")

    return FunctionModel(reply)


def test_the_architect_sees_only_read_only_tools_and_its_plan_waits_for_approval():
    model = architect_model()
    runner = make_runner(model, approval="auto")

    async def main():
        seen: list[Event] = []
        runner.subscribe(seen.append)
        runner.send("build it", agent="architect")
        state = await runner.wait_idle()
        return state, seen

    state, seen = run(main())
    assert state.value == "awaiting_plan"
    assert [t.name for t in model.requests[0].tools] == ["echo"]
    assert runner.status()["pending_plan"] == "1. write the file\n2. test it"
    assert [e.plan for e in seen if isinstance(e, PlanReady)] == ["1. write the file\n2. test it"]
    assert states(runner) == {"m1": "answered"}


def test_approving_runs_the_code_agent_with_the_plan_and_note_in_its_context():
    model = architect_model()
    runner = make_runner(model, approval="auto")

    async def main():
        runner.send("build it", agent="architect")
        await runner.wait_idle()
        runner.send("queued meanwhile")
        await asyncio.sleep(0)
        assert [m.text for m in runner.session.queue()] == ["queued meanwhile"]
        runner.approve_plan("use tabs")
        await runner.wait_idle()

    run(main())
    code_request = model.requests[-1]
    assert "architect" not in code_request.system
    assert len(code_request.tools) == 3
    prompt = last_user(code_request)
    assert "1. write the file" in prompt
    assert "use tabs" in prompt
    # The architect's findings are in the same conversation.
    assert any(m.role == "tool" and m.content == "look around" for m in code_request.messages)
    assert runner.status()["pending_plan"] is None
    assert list(states(runner).values()) == ["answered"] * 3


def test_rejecting_runs_nothing_and_the_queue_goes_on():
    model = architect_model()
    runner = make_runner(model, approval="auto")

    async def main():
        runner.send("build it", agent="architect")
        await runner.wait_idle()
        requests_before = len(model.requests)
        runner.reject_plan("too big")
        assert (await runner.wait_idle()).value == "idle"
        assert len(model.requests) == requests_before
        with pytest.raises(UsageError, match="no plan is waiting"):
            runner.approve_plan()
        runner.send("something else")
        await runner.wait_idle()

    run(main())
    assert states(runner) == {"m1": "answered", "m2": "answered"}


def test_a_message_sent_while_a_plan_waits_reminds_of_it_once_per_cooldown():
    runner = make_runner(architect_model(), approval="auto")
    reminders: list[Event] = []

    async def main():
        runner.send("build it", agent="architect")
        await runner.wait_idle()
        runner.subscribe(lambda e: reminders.append(e) if isinstance(e, PlanReady) else None)
        runner.send("a")
        runner.clock.now += 61
        runner.send("b")
        runner.send("c")

    run(main())
    assert len(reminders) == 1


def test_a_policys_deny_list_refuses_a_call_even_in_yolo_and_its_allow_list_never_asks():
    from collet_nb.core.policy import Policy

    tools = EchoTools()
    model = FunctionModel(tool_then_answer("echo", {"text": "hi"}))
    runner = make_runner(model, tools=tools, approval="manual")
    runner.gate.policy = Policy(allow=("ech*",))

    async def main():
        runner.send("first")
        assert (await runner.wait_idle()).value == "idle"  # allowed: never waited
        runner.gate.policy = Policy(deny=("echo",), source="class.toml")
        runner.settings = runner.settings.replace(approval="yolo")
        runner.send("second")
        await runner.wait_idle()

    run(main())
    assert tools.calls == [("echo", {"text": "hi"})]  # the second call never ran
    denied = model.requests[-1].messages[-1]
    assert denied.is_error
    assert "the policy (class.toml) forbids echo" in denied.content


def echo_three_times(request):
    done = answered_tools(request)
    if done < 2:
        return [call("echo", {"text": str(done)}, call_id=f"c{done}"), *text()]
    return text("done")


@pytest.mark.parametrize("decision", ["allow", "allow session", "deny"])
def test_past_the_policys_token_budget_the_agent_pauses_and_asks_even_in_yolo(decision):
    from collet_nb.core.policy import Policy

    model = FunctionModel(echo_three_times)  # each request reports 10 prompt tokens
    runner = make_runner(model, approval="yolo")
    runner.gate.policy = Policy(token_budget=15, source="class/policy.toml")

    async def main():
        runner.send("echo thrice")
        state = await runner.wait_idle()
        asked = runner.status()["pending_tools"]
        requests_while_paused = len(model.requests)
        if decision == "deny":
            runner.deny()
        else:
            runner.allow(for_session=decision == "allow session")
        final = await runner.wait_idle()
        return state.value, asked, requests_while_paused, final.value

    state, asked, paused_at, final = run(main())
    assert state == "awaiting_approval"
    assert paused_at == 2  # the third request waits: 20 tokens used ≥ 15
    assert [p["name"] for p in asked] == ["token_budget"]
    assert '"budget": 15' in asked[0]["arguments"]
    message = runner.status()["messages"][0]
    if decision == "deny":
        assert message["state"] == "failed"
        assert "budget of 15" in message["error"]
        assert "class/policy.toml" in message["error"]
        assert len(model.requests) == 2
    else:
        assert (final, message["state"]) == ("idle", "answered")
        assert len(model.requests) == 3


def test_past_the_policys_cost_budget_the_agent_pauses_and_asks():
    from collet_nb.core.policy import Policy

    model = FunctionModel(echo_three_times)  # 10 prompt tokens per request, priced as gpt-4o
    runner = make_runner(
        model, provider="openai", base_url="https://api.openai.com/v1", model="gpt-4o"
    )
    runner.gate.policy = Policy(cost_budget=0.00004, source="class/policy.toml")

    async def main():
        runner.send("echo thrice")
        state = await runner.wait_idle()
        asked = runner.status()["pending_tools"]
        runner.deny()
        await runner.wait_idle()
        return state.value, asked

    state, asked = run(main())
    assert state == "awaiting_approval"
    assert [p["name"] for p in asked] == ["cost_budget"]
    message = runner.status()["messages"][0]
    assert message["state"] == "failed"
    assert "past the budget of $0.00" in message["error"]
    assert "raise cost_budget" in message["error"]
