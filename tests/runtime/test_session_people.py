"""What MCP servers ask of a session, through the hub and the commands (issue 19, headless): an
elicitation answered with ``/answer`` (defaults applied, mistakes named, nothing sent until
right), declined with ``/decline``, cancelled with its turn; a sampling request approved and
answered by the loopback LLM (``auto`` asks, ``yolo`` does not, a budget stops it) and counted
in ``/cost``; a resource mention read when the turn starts. Real parts: the hub, the runner, the
in-repo MCP server (``--people``) as a subprocess, an OpenAI-compatible server on loopback."""

import asyncio
import json
import sys

import pytest

from collet_nb.core.events import (
    ApprovalRequested,
    ElicitationRequested,
    ElicitationResolved,
    Notice,
    ToolCallStarted,
    ToolResultReady,
)
from collet_nb.core.policy import Policy
from collet_nb.core.session import SessionState
from collet_nb.core.settings import Settings
from collet_nb.errors import ConfigError
from collet_nb.runtime.commands import cost_line, status_text
from collet_nb.runtime.hub import SessionHub
from tests.adapters.mcp.harness import SERVER
from tests.runtime.test_hub import NB, command, make_hub
from tests.support.fake_llm import FakeLLM, FakeToolCall, Rule
from tests.support.stand_ins import answered_tools, call, last_user, text

WAIT = 60


def configure(tmp_path) -> None:
    folder = tmp_path / "project" / ".collet"
    folder.mkdir(parents=True, exist_ok=True)
    servers = {"t": {"command": sys.executable, "args": [SERVER, "stdio", "--people"]}}
    (folder / "mcp.json").write_text(json.dumps({"mcpServers": servers}))


def asks_then_answers(request):
    """The model calls ``ask`` once per message, then says what it got."""
    if answered_tools(request) == 0:
        return [call("mcp__t__ask", {}, call_id=f"ask-{len(request.messages)}")]
    results = [m.content for m in request.messages if m.role == "tool"]
    return text(f"the server said: {results[-1]}")


def results_of(events):
    return [e.content for e in events if isinstance(e, ToolResultReady)]


def test_an_elicitation_waits_for_answer_which_fills_in_the_defaults(tmp_path):
    configure(tmp_path)

    async def main():
        hub = make_hub(tmp_path, asks_then_answers)
        runner = hub.runner(NB)
        events = []
        runner.subscribe(events.append)
        msg = runner.send("who am I?")
        # /wait returns when the question waits (the session stays running).
        state = await runner.wait_idle(WAIT)
        status = runner.status()
        shown = status_text(runner)
        with pytest.raises(ConfigError) as wrong:
            command(hub, '/answer {"age": "old", "colour": "pink"}')
        still = [p["elicitation_id"] for p in runner.status()["pending_elicitations"]]
        said = command(hub, '/answer {"name": "Ada"}').text
        await runner.wait_idle(WAIT)
        again = command(hub, "/answer {}").text
        ended = runner.session.messages.get(msg.id).state.value
        await hub.aclose()
        return state, status, shown, str(wrong.value), still, said, again, ended, events

    state, status, shown, wrong, still, said, again, ended, events = asyncio.run(main())
    assert state is SessionState.RUNNING
    (pending,) = status["pending_elicitations"]
    assert (pending["elicitation_id"], pending["server"], pending["mode"]) == ("e1", "t", "form")
    assert pending["message"].startswith("Who is asking?")
    assert [f["name"] for f in pending["fields"]] == ["name", "age", "colour", "subscribe"]
    assert status["messages"][0]["status"] == "awaiting_input"
    assert "MCP server t asks (e1): /answer {…} or /decline" in shown
    # Mutation: fill() not checking -> no ConfigError, and the wrong answer reaches the server.
    assert "name: required — give text" in wrong
    assert "age: 'old' is not an integer" in wrong
    assert "colour: 'pink' is not one of red, green, blue" in wrong
    assert still == ["e1"]  # nothing was sent
    assert said == "answered e1"
    assert ended == "answered"
    assert results_of(events) == [
        'accepted {"name":"Ada","age":30,"colour":"green","subscribe":false}'
    ]
    assert again.startswith("nothing waits: e1 of MCP server t was answered by command at ")
    kinds = [
        type(e).__name__
        for e in events
        if isinstance(e, ElicitationRequested | ElicitationResolved)
    ]
    assert kinds == ["ElicitationRequested", "ElicitationResolved"]
    journal = (tmp_path / "home" / "sessions").glob("*.jsonl")
    recorded = "".join(path.read_text() for path in journal)
    assert '"type":"elicitation_resolved"' in recorded  # the audit trail keeps what was sent


def test_decline_answers_decline_and_cancel_of_the_turn_answers_cancel(tmp_path):
    configure(tmp_path)

    async def main():
        hub = make_hub(tmp_path, asks_then_answers)
        runner = hub.runner(NB)
        events = []
        runner.subscribe(events.append)
        runner.send("who am I?")
        await runner.wait_idle(WAIT)
        declined = command(hub, "/decline").text
        await runner.wait_idle(WAIT)
        second = runner.send("and now?")
        await runner.wait_idle(WAIT)
        asked = bool(runner.elicitations.waiting())
        cancelled = command(hub, "/cancel").text
        await runner.wait_idle(WAIT)
        last = runner.elicitations.last
        state = runner.session.messages.get(second.id).state.value
        await hub.aclose()
        return declined, asked, cancelled, last, state, events

    declined, asked, cancelled, last, state, events = asyncio.run(main())
    assert declined == "declined e1"
    assert results_of(events)[0] == "decline"
    assert asked
    assert cancelled == "cancelled m2"
    assert state == "cancelled"
    # Mutation: SessionRunner.cancel not cancelling the desk -> e2 still waits (last is e1's).
    event, _at = last
    assert (event.elicitation_id, event.action, event.by) == ("e2", "cancel", "cancel")


SUMMARIZE = Rule(
    contains="summarize this",
    tool_calls=[FakeToolCall(name="mcp__t__summarize", arguments={"text": "the cat sat"})],
)
SAMPLED = Rule(contains="Summarize: the cat sat", text="A cat sat.", usage=(11, 4))
AFTER_TOOL = Rule(role="tool", text="Done.", usage=(20, 2))


def loopback_hub(tmp_path, llm: FakeLLM, approval: str) -> SessionHub:
    """A hub whose sessions use the real OpenAI-compatible provider against ``llm``."""
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    settings = Settings(
        home=str(tmp_path / "home"), provider="openai", base_url=llm.base_url, api_key="k",
        model="fake-model", approval=approval,
    )  # fmt: skip
    return SessionHub(settings=lambda _p: settings, project_dir=project)


def test_a_sampling_request_is_approved_then_answered_by_the_loopback_llm_and_counted(tmp_path):
    configure(tmp_path)

    async def main():
        with FakeLLM([SUMMARIZE, SAMPLED, AFTER_TOOL]) as llm:
            hub = loopback_hub(tmp_path, llm, "auto")
            runner = hub.runner(NB)
            events = []
            runner.subscribe(events.append)
            msg = runner.send("summarize this for me")
            first = await runner.wait_idle(WAIT)  # the MCP tool asks (auto)
            tool = runner.status()["pending_tools"]
            command(hub, "/allow")
            second = await runner.wait_idle(WAIT)  # then the server asks the model
            sampling = runner.status()["pending_tools"]
            asked_llm = len(llm.chat_requests)
            command(hub, "/allow")
            await runner.wait_idle(WAIT)
            state = runner.session.messages.get(msg.id).state.value
            cost = cost_line(runner)
            requests = llm.chat_requests
            await hub.aclose()
        return first, tool, second, sampling, asked_llm, state, cost, requests, events

    first, tool, second, sampling, asked_llm, state, cost, requests, events = asyncio.run(main())
    assert first is second is SessionState.AWAITING_APPROVAL
    assert tool[0]["name"] == "mcp__t__summarize"
    (ask,) = sampling
    assert ask["name"] == "sampling:t"
    assert ask["summary"] == (
        "MCP server 't' asks the model (1 message, up to 40 tokens): \"Summarize: the cat sat\""
    )
    assert asked_llm == 1  # nothing reached the model before the person allowed it
    (card,) = [e for e in events if isinstance(e, ApprovalRequested) and e.name == "sampling:t"]
    assert card.preview == {
        "kind": "sampling", "server": "t", "system_prompt": "You write one-line summaries.",
        "messages": [{"role": "user", "text": "Summarize: the cat sat"}], "max_tokens": 40,
        "model": "fake-model",
    }  # fmt: skip
    assert state == "answered"
    sampled = requests[1]
    assert sampled.conversation == [
        ("system", "You write one-line summaries."), ("user", "Summarize: the cat sat"),
    ]  # fmt: skip
    assert sampled.body.get("max_tokens", sampled.body.get("max_completion_tokens")) == 40
    assert not sampled.body.get("tools")
    results = results_of(events)
    assert results == ["A cat sat.", "summary by fake-model: A cat sat."]  # its card, the tool's
    # Mutation: Sampler._stream not adding the usage -> 41 tokens instead of 56.
    assert cost.startswith("56 tokens: 43 prompt, 13 completion")


def test_in_yolo_a_sampling_request_runs_without_asking(tmp_path):
    configure(tmp_path)

    async def main():
        with FakeLLM([SUMMARIZE, SAMPLED, AFTER_TOOL]) as llm:
            hub = loopback_hub(tmp_path, llm, "yolo")
            runner = hub.runner(NB)
            events = []
            runner.subscribe(events.append)
            runner.send("summarize this for me")
            state = await runner.wait_idle(WAIT)
            await hub.aclose()
        return state, events

    state, events = asyncio.run(main())
    assert state is SessionState.IDLE
    assert not [e for e in events if isinstance(e, ApprovalRequested)]
    assert [e.name for e in events if isinstance(e, ToolCallStarted)] == [
        "mcp__t__summarize", "sampling:t",
    ]  # fmt: skip
    assert results_of(events)[-1] == "summary by fake-model: A cat sat."


def test_a_sampling_request_past_the_token_budget_asks_and_a_deny_refuses_it(tmp_path):
    configure(tmp_path)

    async def main():
        with FakeLLM([SUMMARIZE, SAMPLED, AFTER_TOOL]) as llm:
            hub = loopback_hub(tmp_path, llm, "yolo")
            runner = hub.runner(NB)
            runner.gate.policy = Policy(token_budget=5, source="policy.toml")
            events = []
            runner.subscribe(events.append)
            runner.send("summarize this for me")
            await runner.wait_idle(WAIT)
            budget = runner.status()["pending_tools"]
            command(hub, "/deny")
            await runner.wait_idle(WAIT)
            command(hub, "/deny")  # the turn's own next request asks too
            await runner.wait_idle(WAIT)
            sampled = [r for r in llm.chat_requests if "Summarize:" in r.last_text]
            await hub.aclose()
        return budget, sampled, events

    budget, sampled, events = asyncio.run(main())
    assert budget[0]["name"] == "token_budget"
    assert sampled == []  # the model never got the server's request
    card, tool = results_of(events)[:2]
    assert card.startswith("the session used 19 tokens, past the budget of 5 set by policy.toml")
    assert "sampling refused: the session used 19 tokens" in tool


def test_a_resource_mention_is_read_when_the_turn_starts_and_said_in_a_notice(tmp_path):
    configure(tmp_path)
    seen = []

    pictures = []

    def reply(request):
        seen.append(last_user(request))
        user = next(m for m in reversed(request.messages) if m.role == "user")
        pictures.append(user.images)
        return text("read it")

    async def main():
        hub = make_hub(tmp_path, reply)
        runner = hub.runner(NB)
        events = []
        runner.subscribe(events.append)
        msg = runner.send("What do @t:collet://notes/readme say?")
        await runner.wait_idle(WAIT)
        runner.send("And @t:collet://notes/pixel?")
        await runner.wait_idle(WAIT)
        typed = runner.session.messages.get(msg.id).text
        await hub.aclose()
        return typed, events

    typed, events = asyncio.run(main())
    # An image resource goes with its message as an image (mutation: the runner dropping the
    # images attach() found -> none here).
    assert pictures[0] == ()
    ((pixel,),) = pictures[1:]
    assert (pixel.mime, pixel.source) == ("image/png", "@t:collet://notes/pixel")
    assert typed == "What do @t:collet://notes/readme say?"  # the message as typed
    # Mutation: the runner not calling its attach hook -> the model reads the bare mention.
    assert seen[0].endswith(
        "@t:collet://notes/readme (MCP resource of t, text/plain):\n"
        "collet test server: notes kept for the tests."
    )
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert "attached @t:collet://notes/readme (text/plain, 45 characters)" in notices


def test_server_everythings_sampling_request_is_answered_by_the_loopback_llm(tmp_path):
    # server-everything (a 2025-11-25 server) registers trigger-sampling-request only for a
    # client that declares sampling. Mutation: no sampling_callback -> the tool is unknown.
    from tests.adapters.mcp.harness import everything_stdio

    folder = tmp_path / "project" / ".collet"
    folder.mkdir(parents=True)
    (folder / "mcp.json").write_text(json.dumps({"mcpServers": {"everything": everything_stdio()}}))
    rules = [
        Rule(
            contains="trigger a sampling request",
            tool_calls=[
                FakeToolCall(
                    name="mcp__everything__trigger-sampling-request",
                    arguments={"prompt": "name a colour", "maxTokens": 12},
                )
            ],
        ),
        Rule(contains="name a colour", text="Teal.", usage=(9, 2)),
        Rule(role="tool", text="It said teal."),
    ]

    async def main():
        with FakeLLM(rules) as llm:
            hub = loopback_hub(tmp_path, llm, "yolo")
            runner = hub.runner(NB)
            events = []
            runner.subscribe(events.append)
            runner.send("trigger a sampling request, please")
            state = await runner.wait_idle(WAIT)
            sampled = [r for r in llm.chat_requests if "name a colour" in r.last_text]
            await hub.aclose()
        return state, sampled, events

    state, sampled, events = asyncio.run(main())
    assert state is SessionState.IDLE
    (request,) = sampled
    assert request.conversation[0] == ("system", "You are a helpful test server.")
    result = results_of(events)[-1]
    assert "LLM sampling result:" in result
    reply = json.loads(result.split("LLM sampling result: \n", 1)[1])
    assert reply["content"] == {"type": "text", "text": "Teal."}
    assert reply["model"] == "fake-model"
    assert reply["role"] == "assistant"
