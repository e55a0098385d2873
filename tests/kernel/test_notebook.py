"""The engine inside a real ipykernel, driven by jupyter_client as a frontend would."""

import time
import tomllib
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.support.kernel import IPYKERNELS, KernelHarness

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=IPYKERNELS)
def kernel(tmp_path, request):
    harness = KernelHarness(
        cwd=tmp_path,
        env={"COLLET_HOME": str(tmp_path / "home"), "COLLET_DEMO_PACE": "0.03"},
        ipykernel=request.param,
    )
    reply, outputs = harness.execute("%load_ext collet_nb\nimport collet_nb")
    assert reply["status"] == "ok", harness.text(outputs)
    yield harness
    harness.shutdown()


def states(kernel) -> list[str]:
    return kernel.eval("[m['state'] for m in collet_nb.status()['messages']]")


def wait_states(kernel, expected: list[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while (seen := states(kernel)) != expected:
        assert time.monotonic() < deadline, seen
        time.sleep(0.05)


def view_comm(kernel, message_id: str) -> str:
    """The comm of the live view a cell shows for ``message_id``."""
    views = [
        m["content"]["comm_id"]
        for m in kernel.messages
        if m["msg_type"] == "comm_open"
        and m["content"]["data"]
        .get("state", {})
        .get("_anywidget_id", "")
        .endswith("ConversationView")
        and m["content"]["data"]["state"].get("message_id") == message_id
    ]
    assert views, f"no live view of {message_id} was shown"
    return views[-1]


def to_view(kernel, message_id: str, content: dict) -> None:
    """A custom message from the browser to a view's model, as anywidget sends it."""
    content = {"protocol_version": 2, **content}
    data = {"method": "custom", "content": content}
    msg = kernel.kc.session.msg(
        "comm_msg", {"comm_id": view_comm(kernel, message_id), "data": data}
    )
    kernel.kc.shell_channel.send(msg)


def click(kernel, action: str, *, message_id: str = "m1", **extra) -> None:
    """Press a button of a message's view (allow_once, approve, cancel …)."""
    to_view(kernel, message_id, {"type": "action", "action": action, "message_id": message_id,
                                 "request_id": action, **extra})  # fmt: skip


def demo_answer(script: str) -> str:
    """The text the demo model answers with for ``script`` (collet_nb/adapters/demo_scripts)."""
    scripts = tomllib.loads((ROOT / "collet_nb/adapters/demo_scripts.toml").read_text())
    (found,) = [s for s in scripts["script"] if s["name"] == script]
    return "".join(step.get("text", "") for step in found["step"])


def view_batches(kernel, message_id: str, since: int = 0) -> list[list[dict]]:
    """The event batches the live view of ``message_id`` was sent (iopub messages from
    ``since`` on); a gap or a repeat in their numbering fails."""
    comm = view_comm(kernel, message_id)
    batches: list[list[dict]] = []
    next_start = None
    for m in kernel.messages[since:]:
        if m["msg_type"] != "comm_msg" or m["content"]["comm_id"] != comm:
            continue
        data = m["content"]["data"]
        if data.get("method") != "custom" or data["content"].get("type") != "events":
            continue
        batch = data["content"]
        assert batch["protocol_version"] == 2
        if next_start is not None:
            assert batch["start"] == next_start, "a gap or a repeat in the view's events"
        next_start = batch["start"] + len(batch["events"])
        batches.append(batch["events"])
    return batches


def answer_in(batches: list[list[dict]]) -> str:
    return "".join(e["text"] for batch in batches for e in batch if e["type"] == "text_delta")


def last_status(batches: list[list[dict]]) -> str | None:
    said = [e["status"] for batch in batches for e in batch if e["type"] == "message_status"]
    return said[-1] if said else None


def test_a_collet_cell_returns_before_the_answer_ends_and_the_view_keeps_updating(kernel):
    reply, _ = kernel.execute("%%collet\ncount slowly to ten")
    assert reply["status"] == "ok"
    assert kernel.eval("collet_nb.status()['state']") == "running"
    to_view(kernel, "m1", {"type": "sync", "seen": 0})  # the browser rendered it
    # A later cell runs while the agent works.
    reply, outputs = kernel.execute("print(6 * 7)")
    assert kernel.text(outputs) == "42\n"
    mark = len(kernel.messages)  # the later cell has returned too
    assert kernel.eval("collet_nb.status()['busy']") is True
    wait_states(kernel, ["answered"])
    kernel.wait_for(lambda: last_status(view_batches(kernel, "m1")) == "answered")
    # The view got the whole answer, word for word, and it kept coming after both cells had
    # returned, batch after batch: what the browser shows grew while the notebook went on.
    whole = answer_in(view_batches(kernel, "m1"))
    assert whole.split() == demo_answer("count").split()
    later = [b for b in view_batches(kernel, "m1", since=mark) if answer_in([b])]
    assert len(later) >= 3, "the answer did not keep streaming to the view"
    assert whole.endswith(answer_in(later))


def test_three_messages_sent_while_busy_are_answered_in_order(kernel):
    for n in (1, 2, 3):
        reply, _ = kernel.execute(f"%collet count slowly to {n}")
        assert reply["status"] == "ok"
    assert states(kernel)[1:] == ["queued", "queued"]
    wait_states(kernel, ["answered"] * 3)
    started = kernel.eval(
        "[r['id'] for r in __import__('collet_nb.adapters.journal', fromlist=['x']).read_records("
        "__import__('collet_nb.ui.extension', fromlist=['x']).active().runner().journal.path) "
        "if r.get('kind') == 'state' and r['state'] == 'running']"
    )
    assert started == ["m1", "m2", "m3"]


def test_clicking_allow_runs_the_tool_calls_and_the_file_appears(kernel, tmp_path):
    reply, _ = kernel.execute("%%collet\nwrite a hello world script")
    assert reply["status"] == "ok"
    for tool in ("file_write", "bash"):
        kernel.wait_for(lambda: kernel.eval("collet_nb.status()['state']") == "awaiting_approval")
        assert kernel.eval("collet_nb.status()['pending_tools'][0]['name']") == tool
        call_id = kernel.eval("collet_nb.status()['pending_tools'][0]['call_id']")
        click(kernel, "allow_once", call_id=call_id)
        kernel.wait_for(lambda: kernel.eval("collet_nb.status()['pending_tools']") == [])
    wait_states(kernel, ["answered"])
    assert (tmp_path / "hello.py").read_text() == 'print("Hello, world!")\n'


def test_clicking_approve_carries_out_the_architects_plan(kernel):
    reply, _ = kernel.execute("%%collet --agent architect\nplan a tidy-up of this folder")
    assert reply["status"] == "ok"
    kernel.wait_for(lambda: kernel.eval("collet_nb.status()['state']") == "awaiting_plan")
    assert kernel.eval("collet_nb.status()['pending_plan']")
    click(kernel, "approve")
    wait_states(kernel, ["answered", "answered"])
    assert kernel.eval("collet_nb.status()['pending_plan']") is None


def test_save_plan_cell_puts_the_plan_in_a_new_cell_below(kernel):
    reply, _ = kernel.execute("%%collet --agent architect\nplan a tidy-up of this folder")
    kernel.wait_for(lambda: kernel.eval("collet_nb.status()['state']") == "awaiting_plan")
    plan = kernel.eval("collet_nb.status()['pending_plan']")
    reply, outputs = kernel.execute("%collet /save-plan --cell")
    assert "new cell below" in kernel.text(outputs)
    (payload,) = [p for p in reply["payload"] if p["source"] == "set_next_input"]
    assert payload["text"] == "%%markdown\n" + plan
    assert payload["replace"] is False


def test_clicking_cancel_stops_the_turn(kernel):
    reply, _ = kernel.execute("%%collet\ncount slowly to ten")
    assert reply["status"] == "ok"
    kernel.wait_for(lambda: kernel.eval("collet_nb.status()['state']") == "running")
    click(kernel, "cancel")
    wait_states(kernel, ["cancelled"], timeout=5)
    assert kernel.eval("collet_nb.status()['state']") == "idle"


def test_bad_flags_and_commands_get_one_line_that_names_the_choices(kernel):
    _, outputs = kernel.execute("%%collet --agnet code\nhi")
    assert kernel.text(outputs).strip().startswith("collet: unknown flag '--agnet'")
    _, outputs = kernel.execute("%collet /stream loud")
    assert kernel.text(outputs).strip() == "collet: /stream takes compact|full, not 'loud'"
    _, outputs = kernel.execute("%collet --modle big hi")
    assert kernel.text(outputs).strip().startswith("collet: unknown flag '--modle'; usage: %collet")
    assert states(kernel) == []


def test_a_line_message_takes_the_flags_of_the_cell_form(kernel):
    reply, _ = kernel.execute("%collet --agent architect plan a tidy-up of this folder")
    assert reply["status"] == "ok"
    kernel.wait_for(lambda: kernel.eval("collet_nb.status()['state']") == "awaiting_plan")
    (message,) = kernel.eval("collet_nb.status()['messages']")
    assert message["text"] == "plan a tidy-up of this folder"


def test_loading_twice_registers_once(kernel):
    reply, outputs = kernel.execute(
        "%reload_ext collet_nb\n%load_ext collet_nb\n"
        "from comm import get_comm_manager\n"
        "print(len([k for k in get_comm_manager().targets if k == 'collet']))"
    )
    assert reply["status"] == "ok", kernel.text(outputs)
    assert kernel.text(outputs).strip().endswith("1")
    reply, _ = kernel.execute("%collet count slowly to one")
    wait_states(kernel, ["answered"])


def test_the_quickstart_notebook_runs_top_to_bottom_headless(tmp_path, monkeypatch):
    nb = nbformat.read(ROOT / "notebooks" / "01_quickstart.ipynb", as_version=4)
    monkeypatch.setenv("COLLET_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLLET_DEMO_PACE", "0")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the lesson's own folder lands here
    NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors == []
    (written,) = tmp_path.glob("collet-lesson-01-*/hello.py")
    assert written.read_text() == 'print("Hello, world!")\n'
    printed = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )
    assert "m1 answered" in printed
    assert "collet:" not in printed
