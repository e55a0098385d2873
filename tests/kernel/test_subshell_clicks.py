"""Clicks and sidebar requests that arrive on an ipykernel 7 subshell thread (JupyterLab 4.6
sends comms over subshells) still run the turn at once, on the main loop."""

import time

import pytest

from tests.kernel.test_notebook import view_comm, wait_states
from tests.support.kernel import KernelHarness

pytestmark = pytest.mark.kernel


# Every event of the session is recorded with the thread that emitted it.
SETUP = """
%load_ext collet_nb
import collet_nb, threading
from collet_nb.ui.extension import active
threads = set()
runner = active().runner()
runner.subscribe(lambda e: threads.add(threading.current_thread().name))
allow = runner.allow
def allow_here(*args, **kwargs):  # where the button's action runs
    threads.add("allow:" + threading.current_thread().name)
    return allow(*args, **kwargs)
runner.allow = allow_here
"""


@pytest.fixture
def kernel(tmp_path):
    harness = KernelHarness(
        cwd=tmp_path,
        env={"COLLET_HOME": str(tmp_path / "home"), "COLLET_DEMO_PACE": "0"},
    )
    reply, outputs = harness.execute(SETUP)
    assert reply["status"] == "ok", harness.text(outputs)
    yield harness
    harness.shutdown()


def subshell(kernel) -> str:
    msg = kernel.kc.session.msg("create_subshell_request", {})
    kernel.kc.control_channel.send(msg)
    reply = kernel.kc.control_channel.get_msg(timeout=10)
    assert reply["content"]["status"] == "ok", reply["content"]
    return reply["content"]["subshell_id"]


def send_on(kernel, subshell_id: str, msg_type: str, content: dict) -> None:
    msg = kernel.kc.session.msg(msg_type, content)
    msg["header"]["subshell_id"] = subshell_id
    kernel.kc.shell_channel.send(msg)


def test_allow_clicked_over_a_subshell_runs_the_tool_without_another_cell(kernel, tmp_path):
    reply, _ = kernel.execute("%%collet\nwrite a hello world script")
    assert reply["status"] == "ok"
    kernel.wait_for(lambda: kernel.eval("collet_nb.status()['state']") == "awaiting_approval")
    sid = subshell(kernel)
    call_id = kernel.eval("collet_nb.status()['pending_tools'][0]['call_id']")
    action = {"protocol_version": 2, "type": "action", "action": "allow_once",
              "message_id": "m1", "call_id": call_id}  # fmt: skip
    content = {"method": "custom", "content": action}
    send_on(kernel, sid, "comm_msg", {"comm_id": view_comm(kernel, "m1"), "data": content})
    # No cell runs meanwhile: only the main loop waking up can write the file.
    deadline = time.monotonic() + 10
    while not (tmp_path / "hello.py").exists():
        assert time.monotonic() < deadline, "the allowed call did not run"
        kernel._pump(0.1)
    # The turn went on by itself to its next call (bash), which asks in turn.
    kernel.wait_for(lambda: kernel.eval("collet_nb.status()['pending_tools']") != [])
    assert kernel.eval("collet_nb.status()['pending_tools'][0]['name']") == "bash"
    assert kernel.eval("sorted(threads)") == ["MainThread", "allow:MainThread"]


def test_a_sidebar_send_over_a_subshell_is_answered_without_another_cell(kernel):
    sid = subshell(kernel)
    comm_id = "sidebar-test"
    # The main thread is busy in a cell while the sidebar opens and sends at once: the
    # request must wait for the bridge, not be lost.
    kernel.kc.execute("import time; time.sleep(1.5)")
    time.sleep(0.3)
    send_on(
        kernel,
        sid,
        "comm_open",
        {"comm_id": comm_id, "target_name": "collet", "data": {}},
    )
    data = {"protocol_version": 2, "type": "send", "text": "count to three", "request_id": "r1"}
    send_on(kernel, sid, "comm_msg", {"comm_id": comm_id, "data": data})

    def answered() -> bool:
        return any(
            m["msg_type"] == "comm_msg"
            and m["content"]["data"].get("type") == "status"
            and [x["state"] for x in m["content"]["data"]["status"]["messages"]] == ["answered"]
            for m in kernel.messages
        )

    kernel.wait_for(answered, timeout=15)
    wait_states(kernel, ["answered"])
    assert kernel.eval("sorted(threads)") == ["MainThread"]
