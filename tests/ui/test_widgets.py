"""The ipywidgets views, driven by a real SessionRunner with a scripted model (no frontend).

Widgets talk to a recording comm (ipywidgets' own test approach), so each test also sees
every byte a browser would have received.
"""

import asyncio
import json
import re
import uuid

import comm
import ipywidgets
import pytest

from collet_nb.core.chat import Usage
from collet_nb.core.context import ConversationContext
from collet_nb.core.events import Event, MessageStateChanged, TextDelta, TurnFinished
from collet_nb.core.kinds import StreamingLevel
from collet_nb.core.ports import ReasoningChunk, RestartChunk, TextChunk, UsageChunk
from collet_nb.core.session import AgentSession
from collet_nb.core.settings import Settings
from collet_nb.errors import ConfigError, ProviderError
from collet_nb.runtime.runner import SessionRunner
from collet_nb.ui.render import markdown_html
from collet_nb.ui.widgets import MessageView, SessionPanel, run_action
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


class RecordingComm:
    """Stands in for the kernel's comm: keeps the size of everything sent to the frontend."""

    kernel = "recording"
    sent_bytes = 0
    opened = 0

    def __init__(self, **kwargs):
        self.comm_id = uuid.uuid4().hex
        RecordingComm.opened += 1
        RecordingComm.sent_bytes += len(json.dumps(kwargs.get("data")))

    def on_msg(self, callback):
        pass

    def send(self, data=None, buffers=None, **kwargs):
        RecordingComm.sent_bytes += len(json.dumps(data))

    def close(self, *args, **kwargs):
        pass


@pytest.fixture(autouse=True)
def recording_comm(monkeypatch):
    RecordingComm.sent_bytes = RecordingComm.opened = 0
    monkeypatch.setattr(comm, "create_comm", RecordingComm)
    yield RecordingComm
    # Close what the test opened, so no widget is left for interpreter shutdown to collect.
    ipywidgets.Widget.close_all()


def make_runner(provider, **settings) -> SessionRunner:
    settings.setdefault("approval", "yolo")
    s = Settings(**settings)
    return SessionRunner(
        session=AgentSession(
            session_id="sess",
            project_dir="/project",
            context=ConversationContext(system_prompt="", budget=s.context_budget),
        ),
        settings=s,
        provider=provider,
        tools=EchoTools(),
        journal=MemoryJournal(),
        clock=FakeClock(),
    )


def run(coro, timeout: float = 10.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def settle(runner: SessionRunner) -> str:
    return (await runner.wait_idle(5.0)).value


def test_the_view_shows_queued_then_running_then_answered_with_the_streamed_text():
    model = FunctionModel(lambda r: text("Here is **the** answer. ", "It has <two> parts."))
    runner = make_runner(model)
    seen: list[str] = []

    async def main():
        model.gate = asyncio.Event()
        msg = runner.send("hi")
        view = MessageView(runner, msg.id)
        runner.subscribe(lambda e: seen.append(view.state))
        assert view.state == "queued"
        assert "collet-badge-queued" in view.badge.value
        assert not view.cancel_button.disabled
        await asyncio.sleep(0)  # let the drain start the turn
        assert view.state == "running"
        model.gate.set()
        await settle(runner)
        return view

    view = run(main())
    assert seen[0] == "running"
    assert seen[-1] == "answered"
    assert "collet-badge-answered" in view.badge.value
    assert view.cancel_button.disabled
    assert view.retry_button.layout.display == "none"
    html = view.answer_html()
    assert "Here is <strong>the</strong> answer." in html
    assert "&lt;two&gt;" in html


def test_full_streaming_shows_text_while_the_turn_is_still_running():
    model = FunctionModel(lambda r: text("First sentence. ", "Second one"))
    runner = make_runner(model)
    during: list[str] = []

    async def main():
        msg = runner.send("go")
        view = MessageView(runner, msg.id)
        runner.subscribe(
            lambda e: during.append(view.answer_html()) if isinstance(e, TextDelta) else None
        )
        await settle(runner)
        return view

    view = run(main())
    assert "First sentence." in during[0]  # a sentence end is shown at once
    assert "Second one" in view.answer_html()


def test_a_failed_message_shows_its_error_and_retry_sends_it_again():
    attempts: list[str] = []

    def reply(request):
        attempts.append(last_user(request))
        if len(attempts) == 1:
            return ProviderError("the provider is down; check COLLET_BASE_URL")
        return text("worked this time.")

    runner = make_runner(FunctionModel(reply))

    async def main():
        view = MessageView(runner, runner.send("try me").id)
        await settle(runner)
        assert view.state == "failed"
        assert "the provider is down; check COLLET_BASE_URL" in view.error.value
        assert view.retry_button.layout.display == ""
        view.retry_button.click()
        await settle(runner)
        return view

    view = run(main())
    assert attempts == ["try me", "try me"]
    assert runner.session.messages.get("m2").retry_of == "m1"
    assert view.retry_button.disabled
    assert "retried as m2" in view.notice.value
    (follow,) = view.followups.children
    assert follow.message_id == "m2"
    assert follow.state == "answered"
    assert "worked this time." in follow.answer_html()


def test_retry_on_an_older_failure_explains_itself_instead_of_resending_another():
    runner = make_runner(FunctionModel(lambda r: ProviderError(f"no {last_user(r)}")))

    async def main():
        first = MessageView(runner, runner.send("one").id)
        runner.send("two")
        await settle(runner)
        first.retry_button.click()
        return first

    first = run(main())
    assert "m2 failed after it" in first.notice.value
    assert "/retry" in first.notice.value
    assert "traceback" not in first.notice.value
    assert len(runner.session.messages) == 2


def test_cancel_stops_the_running_turn_and_a_queued_message_cancels_alone():
    model = FunctionModel(lambda r: text("never"))
    runner = make_runner(model)

    async def main():
        model.gate = asyncio.Event()  # the first reply never comes
        running = MessageView(runner, runner.send("a").id)
        queued = MessageView(runner, runner.send("b").id)
        later = MessageView(runner, runner.send("c").id)
        await asyncio.sleep(0)
        queued.cancel_button.click()
        assert queued.state == "cancelled"
        assert later.state == "queued"
        running.cancel_button.click()
        await settle(runner)
        return running, queued, later

    running, queued, later = run(main())
    assert running.state == "cancelled"
    assert "cancelled by the user" in running.error.value
    assert "removed from the queue" in queued.error.value
    assert all(v.cancel_button.disabled for v in (running, queued, later))


def tool_then_answer(request):
    if answered_tools(request) == 0:
        return [
            TextChunk(text="Let me check. "),
            call("echo", {"text": "pong"}, call_id="x1"),
            call("fail", {}, call_id="x2"),
        ]
    return text("The tool said pong.")


def test_tool_calls_appear_as_cards_with_their_results():
    runner = make_runner(FunctionModel(tool_then_answer))

    async def main():
        view = MessageView(runner, runner.send("ping").id)
        await settle(runner)
        return view

    view = run(main())
    cards = view.tool_cards()
    assert list(cards) == ["x1", "x2"]
    assert "✓ <code>echo</code>" in cards["x1"]
    assert "<pre>pong</pre>" in cards["x1"]
    assert "✗ <code>fail</code>" in cards["x2"]
    assert "it broke" in cards["x2"]
    # Text before the calls, the cards, then the answer: in the order they happened.
    kinds = [type(w).__name__ for w in view.items()]
    assert kinds == ["VBox", "HTML", "HTML", "VBox"]
    assert "Let me check." in view.answer_html()
    assert "The tool said pong." in view.answer_html()


def test_compact_streaming_renders_only_the_final_answer_at_the_end():
    runner = make_runner(FunctionModel(tool_then_answer))
    runner.session.streaming_level = StreamingLevel.COMPACT
    during: list[str] = []

    async def main():
        view = MessageView(runner, runner.send("ping").id)

        def snapshot(event):
            finished = any(isinstance(e, TurnFinished) for e in seen)
            seen.append(event)
            if not finished and not isinstance(event, TurnFinished):
                during.append(view.answer_html())

        seen: list[Event] = []
        runner.subscribe(snapshot)
        await settle(runner)
        return view

    view = run(main())
    assert len(during) > 5
    assert set(during) == {""}
    assert view.tool_cards() == {}
    html = view.answer_html()
    assert "The tool said pong." in html
    assert "Let me check." not in html
    assert len(view.items()) == 1


def test_reasoning_is_folded_away_and_kept_apart_from_the_answer():
    chunks = [ReasoningChunk(text="I should greet."), TextChunk(text="Hello.")]
    runner = make_runner(FunctionModel(lambda r: [*chunks, UsageChunk(usage=Usage())]))

    async def main():
        view = MessageView(runner, runner.send("hi").id)
        await settle(runner)
        return view

    view = run(main())
    folded, answer = view.items()
    assert type(folded).__name__ == "Accordion"
    assert type(answer).__name__ == "VBox"
    assert folded.selected_index is None
    assert folded.titles == ("reasoning",)
    assert "I should greet." in view.answer_html()
    assert "Hello." in view.answer_html()


def test_a_restarted_answer_is_cleared_visibly():
    chunks = [TextChunk(text="dup. "), RestartChunk(reason="stream cut"), TextChunk(text="whole.")]
    runner = make_runner(FunctionModel(lambda r: [*chunks, UsageChunk(usage=Usage())]))

    async def main():
        view = MessageView(runner, runner.send("x").id)
        await settle(runner)
        return view

    html = run(main()).answer_html()
    assert "answer restarted: stream cut" in html
    assert "dup." not in html
    assert "whole." in html


def test_an_approval_shows_its_buttons_and_allow_once_lets_the_call_run():
    runner = make_runner(FunctionModel(tool_then_answer), approval="manual")

    async def main():
        view = MessageView(runner, runner.send("ping").id)
        assert await settle(runner) == "awaiting_approval"
        (row,) = view.approvals.children
        assert row.call_id == "x1"
        assert "echo" in row.call.value
        assert "waiting for approval" in view.tool_cards()["x1"]
        row.allow_once.click()
        assert row.allow_once.disabled  # a second click cannot decide twice
        assert await settle(runner) == "awaiting_approval"  # x2 asks next
        second = view.approvals.children[1]
        second.reason.value = "not that one"
        second.deny.click()
        await settle(runner)
        return view, row, second

    view, row, second = run(main())
    assert "allowed once (by button, " in row.outcome.value
    assert row.buttons.layout.display == "none"
    assert "denied: not that one (by button, " in second.outcome.value
    assert "<pre>pong</pre>" in view.tool_cards()["x1"]
    assert "not that one" in view.tool_cards()["x2"]
    assert view.state == "answered"


def test_a_decision_made_elsewhere_shows_in_the_view_too():
    runner = make_runner(FunctionModel(tool_then_answer), approval="manual")

    async def main():
        view = MessageView(runner, runner.send("ping").id)
        await settle(runner)
        runner.allow("x1", for_session=True, by="command")
        await settle(runner)
        runner.deny(None)
        await settle(runner)
        return view

    view = run(main())
    first, second = view.approvals.children
    assert "allowed for this session (by command, " in first.outcome.value
    assert "denied (by command, " in second.outcome.value


def test_a_plan_waits_for_approve_and_approving_runs_it_in_a_follow_up_view():
    def reply(request):
        if "approved" in last_user(request):
            return text("Carried out.")
        return text("1. Do this.\n2. Then that.\n")

    runner = make_runner(FunctionModel(reply))

    async def main():
        view = MessageView(runner, runner.send("plan it", agent="architect").id)
        assert await settle(runner) == "awaiting_plan"
        plan = view.approvals.children[0]
        plan.note.value = "be careful"
        plan.approve.click()
        await settle(runner)
        return view, plan

    view, plan = run(main())
    assert "plan approved: be careful (by button, " in plan.outcome.value
    assert "Do this." in view.answer_html()
    (follow,) = view.followups.children
    assert follow.state == "answered"
    assert "Carried out." in follow.answer_html()
    assert "be careful" in runner.session.messages.get(follow.message_id).text


def test_a_plan_approved_elsewhere_runs_in_a_follow_up_view_of_the_cell_too():
    def reply(request):
        if "approved" in last_user(request):
            return text("Carried out.")
        return text("1. Do this.\n")

    runner = make_runner(FunctionModel(reply))

    async def main():
        view = MessageView(runner, runner.send("plan it", agent="architect").id)
        assert await settle(runner) == "awaiting_plan"
        runner.approve_plan("from the sidebar", by="sidebar")
        await settle(runner)
        return view

    view = run(main())
    (follow,) = view.followups.children
    assert follow.message_id == "m2"
    assert follow.state == "answered"
    assert "Carried out." in follow.answer_html()
    assert "(by sidebar, " in view.approvals.children[0].outcome.value


def test_rejecting_a_plan_twice_shows_the_error_without_a_traceback():
    runner = make_runner(FunctionModel(lambda r: text("A plan.")))

    async def main():
        view = MessageView(runner, runner.send("plan", agent="architect").id)
        await settle(runner)
        plan = view.approvals.children[0]
        runner.reject_plan("changed my mind")  # decided elsewhere first
        plan.reject.click()
        return plan

    plan = run(main())
    assert "no plan is waiting" in plan.notice.value
    assert "traceback" not in plan.notice.value
    assert "plan rejected: changed my mind" in plan.outcome.value


def test_a_non_collet_error_in_a_button_action_is_shown_with_its_traceback(caplog):
    notice = type("Notice", (), {"value": ""})()

    def broken():
        raise RuntimeError("a bug")

    assert run_action(notice, broken) is False
    assert "RuntimeError: a bug" in notice.value
    assert "<summary>traceback</summary>" in notice.value
    assert "a button action failed" in caplog.text

    def refused():
        raise ConfigError("say <why>")

    assert run_action(notice, refused) is False
    assert notice.value == '<div class="collet-error">say &lt;why&gt;</div>'


def test_the_panel_shows_status_the_queue_and_a_remove_button_per_queued_message():
    model = FunctionModel(lambda r: text(f"re {last_user(r)}"))
    runner = make_runner(model, model="demo-model")

    async def main():
        model.gate = asyncio.Event()
        panel = SessionPanel(runner)
        for t in ("first", "second <b>", "third"):
            runner.send(t)
        await asyncio.sleep(0)
        assert "running" in panel.status_line.value
        assert "demo-model" in panel.status_line.value
        assert "2 queued" in panel.status_line.value
        rows = panel.queue.children
        assert len(rows) == 2
        assert "second &lt;b&gt;" in rows[0].children[1].value
        rows[0].children[0].click()  # ✕ on m2
        assert [r.children[1].value.split("</code>")[0] for r in panel.queue.children] == [
            "<code>m3"
        ]
        model.gate.set()
        await settle(runner)
        return panel

    panel = run(main())
    assert [m.state.value for m in runner.session.messages] == ["answered", "cancelled", "answered"]
    assert panel.queue.children == ()
    assert "idle" in panel.status_line.value
    assert panel.cancel_button.disabled


def test_the_panel_shows_pending_approvals_and_the_plan_with_working_buttons():
    def reply(request):
        if last_user(request) == "plan":
            return text("The plan.")
        return tool_then_answer(request)

    runner = make_runner(FunctionModel(reply), approval="manual")

    async def main():
        panel = SessionPanel(runner)
        runner.send("ping")
        await settle(runner)
        (row,) = panel.approvals.children
        assert "awaiting approval" in panel.status_line.value
        row.allow_session.click()
        await settle(runner)  # x2 asks now
        (row2,) = panel.approvals.children
        assert row2.call_id == "x2"
        row2.deny.click()
        await settle(runner)
        assert panel.approvals.children == ()
        runner.send("plan", agent="architect")
        await settle(runner)
        (plan,) = panel.approvals.children
        assert "The plan." in plan.text.value
        plan.reject.click()
        return panel

    panel = run(main())
    assert panel.approvals.children == ()
    assert "echo" in runner.session.session_approvals


def test_the_panel_cancel_button_cancels_everything():
    model = FunctionModel(lambda r: text("never"))
    runner = make_runner(model)

    async def main():
        model.gate = asyncio.Event()
        panel = SessionPanel(runner)
        runner.send("a")
        runner.send("b")
        await asyncio.sleep(0)
        panel.cancel_button.click()
        await settle(runner)
        return panel

    run(main())
    assert [m.state.value for m in runner.session.messages] == ["cancelled", "cancelled"]


def test_closing_a_view_unsubscribes_it_and_stops_its_updates():
    model = FunctionModel(lambda r: text("late text."))
    runner = make_runner(model)
    live: list[object] = []
    subscribe = runner.subscribe

    def counting(listener):
        live.append(listener)
        unsubscribe = subscribe(listener)

        def undo():
            live.remove(listener)
            unsubscribe()

        return undo

    runner.subscribe = counting

    async def main():
        model.gate = asyncio.Event()
        view = MessageView(runner, runner.send("x").id)
        panel = SessionPanel(runner)
        assert len(live) == 2
        view.close()
        panel.close()
        assert live == []
        model.gate.set()
        await settle(runner)
        return view

    view = run(main())
    assert view.answer_html() == ""
    assert view.comm is None
    view.close()  # closing twice is harmless


def test_a_view_of_an_unknown_message_is_refused_with_a_collet_error():
    runner = make_runner(FunctionModel(lambda r: text("x")))
    with pytest.raises(ConfigError, match="no message m9"):
        MessageView(runner, "m9")


def long_markdown(paragraphs: int) -> list[str]:
    body = "A sentence about the queue and its drain, with `code` in it. " * 5
    code = "```python\n" + "\n".join(f"x_{i} = f({i})" for i in range(12)) + "\n```"
    blocks = [code if i % 4 == 3 else body.strip() for i in range(paragraphs)]
    source = "\n\n".join(blocks)
    words = source.split(" ")
    return [" ".join(words[i : i + 3]) + " " for i in range(0, len(words), 3)]


def traffic_for(paragraphs: int) -> tuple[int, int]:
    deltas = long_markdown(paragraphs)
    runner = make_runner(FunctionModel(lambda r: text(*deltas)))

    async def main():
        msg = runner.send("write a lot")
        RecordingComm.sent_bytes = 0
        MessageView(runner, msg.id)
        await settle(runner)

    run(main(), timeout=30)
    return RecordingComm.sent_bytes, len(markdown_html("".join(deltas)).encode())


def test_what_the_browser_receives_grows_linearly_with_the_answer():
    small, small_rendered = traffic_for(60)
    large, large_rendered = traffic_for(240)
    assert large / small < 1.25 * large_rendered / small_rendered
    assert large < 6 * large_rendered  # widget envelopes included


def test_state_events_of_other_messages_do_not_touch_the_view():
    runner = make_runner(FunctionModel(lambda r: text("x")))

    async def main():
        view = MessageView(runner, runner.send("one").id)
        await settle(runner)
        before = (view.badge.value, view.answer_html())
        runner.emit(MessageStateChanged(message_id="m7", state="failed", error="other"))
        runner.emit(TextDelta(message_id="m7", text="not mine"))
        return view, before

    view, before = run(main())
    assert (view.badge.value, view.answer_html()) == before
    assert isinstance(view, MessageView)


def test_events_reach_views_as_the_runner_emits_them():
    seen: list[Event] = []
    runner = make_runner(FunctionModel(lambda r: text("ok.")))

    async def main():
        MessageView(runner, runner.send("one").id)
        runner.subscribe(seen.append)
        await settle(runner)

    run(main())
    assert [e.state for e in seen if isinstance(e, MessageStateChanged)] == ["running", "answered"]


def test_a_long_timeline_hangs_in_a_shallow_tree_of_small_boxes():
    from collet_nb.ui.widgets import PAGE_SIZE, _Tree

    holder = ipywidgets.VBox()
    tree = _Tree(holder, ipywidgets.Layout())
    count = PAGE_SIZE**2 + 3
    for i in range(count):
        tree.append(ipywidgets.HTML(f"<p>{i}</p>"))

    def depth_and_widest(node, depth=0):
        kids = getattr(node, "children", None)
        if kids is None:
            return depth, 0
        found = [depth_and_widest(k, depth + 1) for k in kids]
        return max(d for d, _ in found), max(len(kids), *(w for _, w in found))

    depth, widest = depth_and_widest(holder)
    assert widest <= PAGE_SIZE
    assert depth == 4  # holder → root → boxes → boxes → items
    assert [w.value for w in tree.items()] == [f"<p>{i}</p>" for i in range(count)]
    tree.clear()
    assert tree.items() == []
    tree.append(ipywidgets.HTML("<p>again</p>"))
    assert [w.value for w in tree.items()] == ["<p>again</p>"]


def test_a_decision_shows_who_made_it_and_when():
    from collet_nb.ui.widgets import decided

    assert re.fullmatch(
        r"denied: not now \(by button, \d\d:\d\d:\d\d\)", decided("denied", "not now", "button")
    )
    assert re.fullmatch(r"plan approved \(\d\d:\d\d:\d\d\)", decided("plan approved", "", ""))
