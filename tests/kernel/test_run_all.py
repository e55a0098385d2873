"""Run All: a front end sends every cell at once, and waiting cells must not run the rest.

A ``/wait`` is awaited on the kernel's own loop (not a nested loop), so the next queued
request starts only after the waiting cell replied. Driven through a real ipykernel (both
versions) with jupyter_client, against a scripted model on a loopback socket.
"""

import json
import os
import signal
import sys
import time

import pytest

from tests.support.fake_llm import FakeLLM, FakeToolCall, Rule
from tests.support.kernel import IPYKERNELS, KernelHarness

pytestmark = pytest.mark.kernel

RULES = [
    Rule(role="tool", contains="wrote", text="The file is written."),
    Rule(
        contains="write a file",
        text="Writing it.",
        tool_calls=[FakeToolCall(name="file_write", arguments={"path": "f.txt", "content": "hi"})],
    ),
    Rule(contains="second message", text="Second answer."),
]

# The nine cells, as Run All sends them.
NINE = [
    "%load_ext collet_nb",
    "%%collet\nwrite a file",
    "%collet /wait 30",
    "%collet /allow",
    "%collet /wait 30",
    "x = 1",
    "%%collet\nsecond message",
    "%collet /wait 30",
    "print(x)",
]


def tracebacks(kernel: KernelHarness) -> list[str]:
    """Tracebacks the kernel published anywhere on iopub (streams or error messages)."""
    found = []
    for msg in kernel.messages:
        content = msg["content"]
        if msg["msg_type"] == "error":
            found.append(f"{content['ename']}: {content['evalue']}")
        elif msg["msg_type"] == "stream" and "Traceback" in content.get("text", ""):
            found.append(content["text"])
    return found


@pytest.mark.parametrize("ipykernel", IPYKERNELS)
def test_nine_cells_queued_at_once_all_reply_ok_in_order(tmp_path, ipykernel):
    with FakeLLM(RULES) as llm:
        env = {
            "COLLET_PROVIDER": "openai",
            "COLLET_BASE_URL": llm.base_url,
            "COLLET_API_KEY": "sk-test-run-all",
            "COLLET_MODEL": "m",
            "COLLET_APPROVAL": "auto",
            "COLLET_HOME": str(tmp_path / "home"),
        }
        kernel = KernelHarness(cwd=tmp_path, env=env, ipykernel=ipykernel)
        try:
            results = kernel.execute_all(NINE, timeout=60)
        finally:
            kernel.shutdown()

    texts = [kernel.text(outputs) for _reply, outputs in results]
    assert [reply["status"] for reply, _ in results] == ["ok"] * 9, texts
    counts = [reply["execution_count"] for reply, _ in results]
    assert counts == sorted(counts)
    assert len(set(counts)) == 9
    assert tracebacks(kernel) == []
    assert "awaiting approval: file_write" in texts[2]
    assert texts[3].startswith("allowed ")
    assert "m1 answered\nidle" in texts[4]
    assert "m2 answered\nidle" in texts[7]
    assert texts[8] == "1\n"
    assert (tmp_path / "f.txt").read_text() == "hi"


@pytest.fixture(params=IPYKERNELS)
def slow_kernel(tmp_path, request):
    """A kernel whose demo model answers slowly (a long count to wait on)."""
    env = {
        "COLLET_HOME": str(tmp_path / "home"),
        "COLLET_PROVIDER": "demo",
        "COLLET_DEMO_PACE": "0.05",  # the count lasts ≈25 s: time for two interrupts
    }
    kernel = KernelHarness(cwd=tmp_path, env=env, ipykernel=request.param)
    kernel.execute("%load_ext collet_nb\nimport collet_nb")
    yield kernel
    kernel.shutdown()


def interrupted_wait(kernel: KernelHarness) -> tuple[dict, str]:
    """Start ``/wait``, interrupt the kernel once the wait runs; its reply and text."""
    msg_id = kernel.kc.execute("%collet /wait 60")
    kernel.wait_for(lambda: kernel.went(msg_id, "busy"))
    # The cell reaches its await within ms of going busy; nothing marks that moment, and a
    # signal before it would interrupt the magic itself, not the wait.
    time.sleep(0.3)
    os.kill(kernel.pid, signal.SIGINT)  # what "Interrupt kernel" does (signal mode)
    reply = kernel.kc.get_shell_msg(timeout=30)
    assert reply["parent_header"]["msg_id"] == msg_id
    kernel.wait_for(lambda: kernel.went(msg_id, "idle"))
    text = "".join(
        m["content"].get("text", "")
        for m in kernel.messages
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "stream"
    )
    return reply["content"], text


def test_an_interrupt_ends_the_wait_and_a_second_one_cancels_the_turn(slow_kernel):
    kernel = slow_kernel
    reply, outputs = kernel.execute("%collet count slowly to twenty")
    assert reply["status"] == "ok", kernel.text(outputs)

    reply, text = interrupted_wait(kernel)
    assert reply["status"] == "ok"
    assert "wait interrupted; the agent goes on" in text
    assert kernel.eval("collet_nb.status()['state']") == "running"

    reply, text = interrupted_wait(kernel)
    assert reply["status"] == "ok"
    assert "wait interrupted twice: cancelled m1" in text
    assert kernel.eval("[m['state'] for m in collet_nb.status()['messages']]") == ["cancelled"]
    assert tracebacks(kernel) == []


def test_mcp_restart_blocks_its_cell_and_the_sidebars_reply_comes_when_it_is_done(tmp_path):
    from tests.adapters.mcp.harness import SERVER
    from tests.kernel.test_bridge import Sidebar

    (tmp_path / ".collet").mkdir()
    servers = {"demo": {"command": sys.executable, "args": [SERVER, "stdio"]}}
    (tmp_path / ".collet" / "mcp.json").write_text(json.dumps({"mcpServers": servers}))
    env = {"COLLET_HOME": str(tmp_path / "home"), "COLLET_PROVIDER": "demo"}
    kernel = KernelHarness(cwd=tmp_path, env=env)
    try:
        cells = ["%load_ext collet_nb", "%collet /mcp restart demo", "%collet /mcp list"]
        texts = [kernel.text(out) for _reply, out in kernel.execute_all(cells)]
        sidebar = Sidebar(kernel)
        sidebar.request(
            {"protocol_version": 2, "type": "command", "text": "/mcp restart demo",
             "request_id": "r1"}
        )  # fmt: skip
        reply = sidebar.wait(lambda d: d.get("type") == "reply" and d["request_id"] == "r1")
    finally:
        kernel.shutdown()
    assert texts[1].startswith("demo: running")
    assert texts[2].startswith("demo: running")
    assert reply["ok"], reply
    assert reply["text"].startswith("demo: running")
    assert tracebacks(kernel) == []


def test_a_prompt_sent_from_a_cell_shows_its_message_there(tmp_path):
    from tests.adapters.mcp.harness import SERVER

    (tmp_path / ".collet").mkdir()
    servers = {"demo": {"command": sys.executable, "args": [SERVER, "stdio", "--extras"]}}
    (tmp_path / ".collet" / "mcp.json").write_text(json.dumps({"mcpServers": servers}))
    env = {"COLLET_HOME": str(tmp_path / "home"), "COLLET_PROVIDER": "demo"}
    kernel = KernelHarness(cwd=tmp_path, env=env)
    try:
        kernel.execute("%load_ext collet_nb")
        reply, outputs = kernel.execute("%collet /prompt demo review code=print(1)")
    finally:
        kernel.shutdown()
    assert reply["status"] == "ok"
    assert "prompt review of demo: sent as m1" in kernel.text(outputs)
    shown = [o for o in outputs if "data" in o]  # display_data (streams have "text")
    assert shown, "the prompt's message has no view in its cell"
    assert "m1" in shown[0]["data"]["text/plain"]
