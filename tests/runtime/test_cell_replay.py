"""Safe re-run: a %%collet cell run again replays its saved answer (no model call, no tool
run) and says so; --rerun, another model or another text asks the model again."""

import asyncio

from collet_nb.core.events import Notice, TextDelta, ToolCallStarted, ToolResultReady
from tests.runtime.test_hub import NB, make_hub
from tests.support.stand_ins import FunctionModel, answered_tools, call, last_user, text


def write_then_answer(request):
    if answered_tools(request) == 0:
        return [call("file_write", {"path": "out.txt", "content": "v1\n"}, call_id="w")]
    return text(f"wrote it for {last_user(request)}")


def run_cells(tmp_path, cells, model=None):
    """Send ``cells`` ((text, kwargs) pairs) in a fresh hub; return what each produced."""
    model = model or FunctionModel(write_then_answer)
    hub = make_hub(tmp_path)
    hub.provider_factory = lambda _s: model

    async def main():
        runner = hub.runner(NB)
        events = []
        runner.subscribe(events.append)
        for body, kwargs in cells:
            runner.send(body, cell=True, **kwargs)
        await runner.wait_idle(10)
        context = [(m.role, m.content) for m in runner.session.context.messages]
        states = [m["state"] for m in runner.status()["messages"]]
        await hub.aclose()
        return events, context, states

    events, context, states = asyncio.run(main())
    return model, events, context, states


def shown(events, kind):
    return [e for e in events if isinstance(e, kind)]


def test_running_the_same_cells_again_replays_answers_without_the_model_or_tools(tmp_path):
    cells = [("write the file", {}), ("and again", {})]
    first, _, context1, _ = run_cells(tmp_path, cells)
    out = tmp_path / "project" / "out.txt"
    assert out.read_text() == "v1\n"
    out.write_text("changed by the user\n")

    second, events2, context2, states = run_cells(tmp_path, cells)

    assert len(first.requests) == 4
    assert second.requests == []  # nothing paid twice
    assert out.read_text() == "changed by the user\n"  # and no tool ran again
    assert states == ["answered", "answered"]
    assert context2 == context1  # the conversation is the same for later cells
    assert [e.text for e in shown(events2, TextDelta)] == [
        "wrote it for write the file",
        "wrote it for and again",
    ]
    assert [e.name for e in shown(events2, ToolCallStarted)] == ["file_write", "file_write"]
    assert [e.is_error for e in shown(events2, ToolResultReady)] == [False, False]
    notices = shown(events2, Notice)
    assert len(notices) == 2
    assert all("replayed the answer saved" in n.text and "--rerun" in n.text for n in notices)


def test_rerun_another_model_or_another_text_asks_the_model_again(tmp_path):
    run_cells(tmp_path, [("write the file", {})])
    again, _, _, _ = run_cells(tmp_path, [("write the file", {"rerun": True})])
    other_model, _, _, _ = run_cells(tmp_path, [("write the file", {"model": "bigger"})])
    other_text, _, _, _ = run_cells(tmp_path, [("write the file!", {})])
    assert len(again.requests) == 2
    assert len(other_model.requests) == 2
    assert len(other_text.requests) == 2


def test_a_failed_or_plain_message_is_never_replayed(tmp_path):
    failing = FunctionModel(lambda r: RuntimeError("the provider broke"))
    _, _, _, states = run_cells(tmp_path, [("write the file", {})], model=failing)
    assert states == ["failed"]
    retried, _, _, states = run_cells(tmp_path, [("write the file", {})])
    assert len(retried.requests) == 2  # nothing was saved for the failure
    assert states == ["answered"]

    hub = make_hub(tmp_path)
    model = FunctionModel(write_then_answer)
    hub.provider_factory = lambda _s: model

    async def plain():
        runner = hub.runner(NB)
        runner.send("write the file")  # a %collet line or the sidebar: not a cell
        await runner.wait_idle(10)
        await hub.aclose()

    asyncio.run(plain())
    assert len(model.requests) == 2


def test_a_replayed_architect_cell_waits_for_its_plan_decision_again(tmp_path):
    def plan_or_do(request):
        if "approved" in last_user(request):
            return text("carried out")
        return text("1. read\n2. write")

    results = []
    for _ in range(2):
        model = FunctionModel(plan_or_do)
        hub = make_hub(tmp_path)
        hub.provider_factory = lambda _s, model=model: model

        async def main(hub=hub):
            runner = hub.runner(NB)
            runner.send("plan the change", agent="architect", cell=True)
            state = await runner.wait_idle(10)
            plan = runner.status()["pending_plan"]
            runner.approve_plan()
            await runner.wait_idle(10)
            states = [m["state"] for m in runner.status()["messages"]]
            await hub.aclose()
            return state.value, plan, states

        results.append((*asyncio.run(main()), len(model.requests)))

    (first_state, first_plan, _, first_requests), (state, plan, states, requests) = results
    assert (first_state, first_plan, first_requests) == ("awaiting_plan", "1. read\n2. write", 2)
    assert (state, plan) == ("awaiting_plan", "1. read\n2. write")
    assert states == ["answered", "answered"]
    assert requests == 1  # the plan was replayed; carrying it out is a new (plain) message


def test_a_replay_says_which_written_files_are_missing_or_changed_and_who_allowed_the_calls(
    tmp_path,
):
    from collet_nb.core.events import ApprovalResolved

    def write_two(request):
        if answered_tools(request) == 0:
            return [
                call("file_write", {"path": "a.txt", "content": "A\n"}, call_id="w1"),
                call("file_write", {"path": "b.txt", "content": "B\n"}, call_id="w2"),
            ]
        return text("both written")

    def run(allow: bool):
        hub = make_hub(tmp_path, approval="auto")
        hub.provider_factory = lambda _s: FunctionModel(write_two)

        async def main():
            runner = hub.runner(NB)
            events = []
            runner.subscribe(events.append)
            runner.send("write two files", cell=True)
            for _ in range(2 if allow else 0):
                await runner.wait_idle(10)
                runner.allow(by="button")
            await runner.wait_idle(10)
            await hub.aclose()
            return events

        return asyncio.run(main())

    run(allow=True)
    project = tmp_path / "project"
    (project / "a.txt").unlink()
    (project / "b.txt").write_text("edited by hand\n")
    events = run(allow=False)  # a replay: nothing asks
    (notice,) = shown(events, Notice)
    assert "missing since: a.txt" in notice.text
    assert "changed since: b.txt" in notice.text
    assert "`%%collet --rerun` asks the model again" in notice.text
    assert notice.level == "warning"
    decided = shown(events, ApprovalResolved)
    assert [(d.name, d.by, d.decision) for d in decided] == [
        ("file_write", "button", "allow_once"),
        ("file_write", "button", "allow_once"),
    ]
    assert all(d.at > 0 for d in decided)
