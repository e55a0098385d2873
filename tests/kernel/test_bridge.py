"""The sidebar's comm protocol against a real kernel: snapshots, events, requests, bad input."""

import uuid

import pytest

from tests.kernel.test_notebook import click, wait_states
from tests.support.kernel import KernelHarness

pytestmark = pytest.mark.kernel


@pytest.fixture
def kernel(tmp_path):
    harness = KernelHarness(cwd=tmp_path, env={"COLLET_HOME": str(tmp_path / "home")})
    reply, outputs = harness.execute("%load_ext collet_nb\nimport collet_nb")
    assert reply["status"] == "ok", harness.text(outputs)
    yield harness
    harness.shutdown()


class Sidebar:
    """The kernel side of a sidebar: opens a comm on ``collet`` and sends requests."""

    def __init__(self, kernel: KernelHarness) -> None:
        self.kernel = kernel
        self.comm_id = uuid.uuid4().hex
        self._send("comm_open", {"comm_id": self.comm_id, "target_name": "collet", "data": {}})

    def _send(self, kind: str, content: dict) -> None:
        self.kernel.kc.shell_channel.send(self.kernel.kc.session.msg(kind, content))

    def request(self, data: dict) -> None:
        self._send("comm_msg", {"comm_id": self.comm_id, "data": data})

    def received(self) -> list[dict]:
        return [
            m["content"]["data"]
            for m in self.kernel.messages
            if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == self.comm_id
        ]

    def events(self) -> list[dict]:
        """Every event received, in the log's order (batches are numbered: no gaps, no repeats)."""
        log: list[dict] = []
        for d in self.received():
            if d.get("type") == "events":
                assert d["start"] <= len(log), "a gap in the numbering"
                log[d["start"] :] = d["events"]
        return log

    def wait(self, predicate, timeout: float = 20) -> dict:
        found: list[dict] = []

        def check() -> bool:
            found[:] = [d for d in self.received() if predicate(d)]
            return bool(found)

        self.kernel.wait_for(check, timeout=timeout)
        return found[-1]


def test_opening_the_comm_sends_a_versioned_status_snapshot(kernel):
    sidebar = Sidebar(kernel)
    snapshot = sidebar.wait(lambda d: d.get("type") == "status")
    assert snapshot["protocol_version"] == 2
    assert snapshot["status"]["state"] == "idle"
    assert snapshot["status"]["provider"] == "demo"


def test_a_message_sent_from_the_sidebar_streams_back_as_events_and_snapshots(kernel):
    sidebar = Sidebar(kernel)
    sidebar.request(
        {"protocol_version": 2, "type": "send", "text": "count slowly to 3", "request_id": "r1"}
    )
    reply = sidebar.wait(lambda d: d.get("type") == "reply" and d["request_id"] == "r1")
    assert (reply["ok"], reply["text"]) == (True, "sent as m1")
    wait_states(kernel, ["answered"])
    sidebar.wait(
        lambda d: (
            d.get("type") == "status"
            and [m["state"] for m in d["status"]["messages"]] == ["answered"]
        )
    )
    deltas = [e["text"] for e in sidebar.events() if e["type"] == "text_delta"]
    assert "".join(deltas).startswith("Counting slowly")


def test_commands_from_the_sidebar_use_the_same_calls_as_the_buttons(kernel, tmp_path):
    """The same decisions, once by a cell's button and once by the sidebar's command, come
    out the same: the same verdict on the same call, run alike, differing only in who."""
    sidebar = Sidebar(kernel)

    def command(text: str, request_id: str) -> dict:
        sidebar.request(
            {"protocol_version": 2, "type": "command", "text": text, "request_id": request_id}
        )
        return sidebar.wait(lambda d: d.get("request_id") == request_id)

    assert command("/approval manual", "a")["text"] == "approval manual"
    nothing = command("/approve", "b")  # nothing waits: the command says so, as a button does
    assert nothing["ok"] is False
    assert "no plan is waiting" in nothing["text"]

    def pending() -> list[str]:
        return kernel.eval("[t['name'] for t in collet_nb.status()['pending_tools']][:1]")

    def answered(message_id: str) -> list[dict]:
        """The sidebar's log, once it says ``message_id`` answered (batches come after the
        kernel's state)."""
        kernel.wait_for(
            lambda: any(
                e["type"] == "message_status"
                and (e["message_id"], e["status"]) == (message_id, "answered")
                for e in sidebar.events()
            )
        )
        return sidebar.events()

    # Two calls of one message: file_write allowed by its cell's button, bash by /allow.
    kernel.execute("%%collet\nwrite a hello world script")
    kernel.wait_for(lambda: pending() == ["file_write"])
    call_id = kernel.eval("collet_nb.status()['pending_tools'][0]['call_id']")
    click(kernel, "allow_once", call_id=call_id)
    kernel.wait_for(lambda: pending() == ["bash"])
    assert command("/allow", "c")["text"] == "allowed m1's bash"
    log = answered("m1")
    decided = [(e["name"], e["decision"], e["by"]) for e in log if e["type"] == "approval_resolved"]
    assert decided == [("file_write", "allow_once", "button"), ("bash", "allow_once", "sidebar")]
    ran = [(e["name"], e["is_error"]) for e in log if e["type"] == "tool_result"]
    assert ran == [("file_write", False), ("bash", False)]
    assert (tmp_path / "hello.py").read_text() == 'print("Hello, world!")\n'

    # Two plans: the first approved by /approve, the second by its cell's Approve button.
    kernel.execute("%%collet --agent architect\nplan a tidy-up of this folder")
    kernel.wait_for(lambda: kernel.eval("collet_nb.status()['state']") == "awaiting_plan")
    assert command("/approve keep it short", "d")["text"] == "plan approved: sent as m3"
    answered("m3")
    kernel.execute("%%collet --agent architect\nplan a tidy-up of this folder")
    kernel.wait_for(lambda: kernel.eval("collet_nb.status()['state']") == "awaiting_plan")
    click(kernel, "approve", message_id="m4", text="keep it short")
    plans = [
        (e["message_id"], e["approved"], e["note"], e["by"], e["follow_up"])
        for e in answered("m5")
        if e["type"] == "plan_resolved"
    ]
    assert plans == [
        ("m2", True, "keep it short", "sidebar", "m3"),
        ("m4", True, "keep it short", "button", "m5"),
    ]


def test_a_tool_allowed_from_the_sidebar_is_recorded_as_decided_by_the_sidebar(kernel):
    sidebar = Sidebar(kernel)
    reply, _ = kernel.execute("%%collet\nwrite a hello world script")
    assert reply["status"] == "ok"
    kernel.wait_for(lambda: kernel.eval("collet_nb.status()['state']") == "awaiting_approval")
    sidebar.request({"protocol_version": 2, "type": "command", "text": "/allow", "request_id": "a"})
    assert sidebar.wait(lambda d: d.get("request_id") == "a")["ok"] is True
    kernel.wait_for(lambda: any(e["type"] == "approval_resolved" for e in sidebar.events()))
    resolved = next(e for e in sidebar.events() if e["type"] == "approval_resolved")
    assert resolved["by"] == "sidebar"
    assert resolved["name"] == "file_write"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ("not an object", "JSON object"),
        ({"type": "send", "text": "x"}, "protocol_version"),
        ({"protocol_version": 99, "type": "hello"}, "protocol_version 99"),
        ({"protocol_version": 2, "type": "explode"}, "unknown message type"),
        ({"protocol_version": 2, "type": "send"}, "needs a text"),
        ({"protocol_version": 2, "type": "command", "text": "/nope"}, "unknown command"),
    ],
)
def test_malformed_requests_get_an_error_reply_and_the_kernel_keeps_working(kernel, data, error):
    sidebar = Sidebar(kernel)
    sidebar.request(data)
    reply = sidebar.wait(lambda d: d.get("type") == "reply")
    assert reply["ok"] is False
    assert error in reply["text"]
    reply, outputs = kernel.execute("print('still fine')")
    assert kernel.text(outputs) == "still fine\n"


def test_a_sidebar_that_opens_late_gets_the_whole_conversation_then_only_what_is_new(kernel):
    reply, _ = kernel.execute("%collet count slowly to 3\n%collet /wait 30")
    assert reply["status"] == "ok"
    sidebar = Sidebar(kernel)  # a page reload: a new comm
    sidebar.request({"protocol_version": 2, "type": "hello", "seen": 0, "request_id": "h"})
    sidebar.wait(lambda d: d.get("request_id") == "h")
    log = sidebar.events()
    assert "".join(e["text"] for e in log if e["type"] == "text_delta").startswith("Counting")
    assert [e["status"] for e in log if e["type"] == "message_status"][-1] == "answered"
    sidebar.request({"protocol_version": 2, "type": "hello", "seen": len(log), "request_id": "i"})
    sidebar.wait(lambda d: d.get("request_id") == "i")
    assert sidebar.events() == log  # nothing sent twice past what it has seen


def test_an_allow_action_from_the_sidebar_names_the_call_it_decides(kernel):
    sidebar = Sidebar(kernel)
    kernel.execute("%%collet\nwrite a hello world script")
    kernel.wait_for(lambda: kernel.eval("collet_nb.status()['state']") == "awaiting_approval")
    call_id = kernel.eval("collet_nb.status()['pending_tools'][0]['call_id']")
    action = {"protocol_version": 2, "type": "action", "action": "allow_once",
              "message_id": "m1", "call_id": call_id, "request_id": "a"}  # fmt: skip
    sidebar.request(action)
    assert sidebar.wait(lambda d: d.get("request_id") == "a")["text"] == "allowed"
    sidebar.request({**action, "request_id": "b"})  # a second click, after the decision
    again = sidebar.wait(lambda d: d.get("request_id") == "b")
    assert again["ok"] is True
    assert again["text"].startswith("nothing waits: m1's file_write was allowed once by sidebar")


def test_a_message_sent_from_the_sidebar_hands_back_its_transcript_when_it_ends(kernel):
    sidebar = Sidebar(kernel)
    sidebar.request(
        {"protocol_version": 2, "type": "send", "text": "count slowly to 3", "request_id": "r"}
    )
    done = sidebar.wait(lambda d: d.get("type") == "transcript", timeout=30)
    assert done["message_id"] == "m1"
    assert done["markdown"].startswith("**m1** · you asked:\n\n> count slowly to 3")
    assert "*m1 answered*" in done["markdown"]


def test_a_retry_from_the_sidebar_leaves_the_failure_and_the_retry_in_one_transcript(kernel):
    sidebar = Sidebar(kernel)
    sidebar.request({"protocol_version": 2, "type": "send", "text": "simulate a failure"})
    first = sidebar.wait(lambda d: d.get("type") == "transcript", timeout=30)
    assert "**m1 failed**: the demo provider failed on purpose" in first["markdown"]
    sidebar.request(
        {"protocol_version": 2, "type": "action", "action": "retry", "message_id": "m1",
         "request_id": "r"}
    )  # fmt: skip
    assert sidebar.wait(lambda d: d.get("request_id") == "r")["text"] == "retrying: sent as m2"
    done = sidebar.wait(lambda d: d.get("type") == "transcript" and d is not first, timeout=30)
    md = done["markdown"]
    assert done["message_id"] == "m1"
    assert "**m1 failed**: the demo provider failed on purpose" in md
    assert "retried as m2" in md
    assert md.index("**m2** · you asked:\n\n> simulate a failure") > md.index("retried as m2")
    assert md.rstrip().endswith("*m2 answered*")
