"""The magic and the sidebar protocol fuzzed in a real kernel: any ``%collet`` line, any
``%%collet`` cell, any comm message gets a one-line ``collet:`` error or works; never a
traceback, never an exception logged in the kernel; and the session still answers afterwards.
"""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from collet_nb.core.commands import COMMANDS
from tests.reliability.figures import report
from tests.support.kernel import KernelHarness

pytestmark = pytest.mark.kernel

# Commands whose random arguments could touch files outside the test's folders (a plan saved
# to any path, files rewound, a session opened anywhere): fuzzed with fixed bad arguments.
RISKY = ("save-plan", "rewind", "new")
NAMES = [
    alias for spec in COMMANDS if spec.name not in RISKY for alias in (spec.name, *spec.aliases)
]
ARGS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["nan", "inf", "-1", "0", "1e-9", "1e309", "session", "--x", "'", '"', "\\"]),
)
LINES = st.one_of(
    st.text(max_size=60).filter(lambda t: not t.lstrip().startswith(tuple(f"/{r}" for r in RISKY))),
    st.builds(lambda n, a: f"/{n} {a}", st.sampled_from(NAMES), ARGS),
    st.builds(lambda n: f"/{n}", st.sampled_from(NAMES)),
    st.sampled_from(["/new /nonexistent/dir", "/new ''", "/rewind nope", "/save-plan"]),
)
FLAGS = st.one_of(
    st.text(max_size=40),
    st.lists(
        st.sampled_from(
            ["--agent", "--model", "--wait", "--rerun", "code", "ask", "=", "--agent=x"]
        ),
        max_size=4,
    ).map(" ".join),
)
WATCH_ERRORS = """
import logging
class _Errors(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.seen = []
    def emit(self, record):
        self.seen.append(f"{record.name}: {record.getMessage()}")
_errors = _Errors()
logging.getLogger().addHandler(_errors)
"""


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    folder = tmp_path_factory.mktemp("magic-fuzz")
    harness = KernelHarness(cwd=folder, env={"COLLET_HOME": str(folder / "home")})
    reply, outputs = harness.execute(WATCH_ERRORS + "%load_ext collet_nb\nimport collet_nb")
    assert reply["status"] == "ok", harness.text(outputs)
    yield harness
    harness.shutdown()


def check_cell(kernel: KernelHarness, code: str) -> None:
    reply, outputs = kernel.execute(code + '\nprint("__alive__")', timeout=60)
    errors = [o for o in outputs if "ename" in o]
    assert reply["status"] == "ok", errors or kernel.text(outputs)
    assert errors == []
    # Lines as a notebook shows them (a \x0b quoted from the input is not a line break).
    stderr = "".join(o["text"] for o in outputs if o.get("name") == "stderr").split("\n")
    assert all(line.startswith("collet: ") for line in stderr if line), stderr
    stdout = "".join(o["text"] for o in outputs if o.get("name") == "stdout")
    assert stdout.endswith("__alive__\n")


FUZZED = {"magic lines": 0, "magic cells": 0, "comm messages": 0}


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(line=LINES)
@example(line="/wait nan")
@example(line="/wait 1e309")
@example(line="a lone surrogate \ud800 in a message")
@example(line="/model \udfff")
@example(line="\x00\x1b[31m control bytes")
def test_any_collet_line_works_or_gets_a_one_line_error(kernel, line):
    FUZZED["magic lines"] += 1
    # Called directly: IPython's own {var} expansion of magic lines is not ours to fuzz.
    check_cell(kernel, f'get_ipython().find_line_magic("collet")({line!r})')


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(flags=FLAGS, body=st.text(max_size=60))
def test_any_collet_cell_works_or_gets_a_one_line_error(kernel, flags, body):
    FUZZED["magic cells"] += 1
    check_cell(kernel, f'get_ipython().find_cell_magic("collet")({flags!r}, {body!r})')


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
REQUESTS = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"protocol_version": st.sampled_from([1, "1", 2, None, 1.0])},
        optional={
            "type": st.sampled_from(["send", "command", "hello", "status", "", "SEND"]) | JSON,
            "text": st.one_of(
                st.text(max_size=40).filter(
                    lambda t: not t.lstrip().startswith(("/save-plan", "/rewind", "/new"))
                ),
                st.builds(lambda n, a: f"/{n} {a}", st.sampled_from(NAMES), ARGS),
                JSON,
            ),
            "request_id": JSON,
            "agent": st.sampled_from(["code", "nope", ""]) | JSON,
            "model": JSON,
            "extra": JSON,
        },
    ),
)


def drawn(strategy: st.SearchStrategy, count: int) -> list:
    """``count`` values of ``strategy``, drawn by hypothesis (a fresh batch every run)."""
    batch: list = []

    @settings(
        max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(strategy)
    def collect(value):
        batch.append(value)

    collect()
    return batch


def fuzz_comm(kernel: KernelHarness, batch: list) -> list[dict]:
    """Open a sidebar comm, send it ``batch`` (and a comm_msg without data, and one with binary
    buffers); every reply, once each of them got one."""
    comm_id = uuid.uuid4().hex
    session = kernel.kc.session
    kernel.kc.shell_channel.send(
        session.msg("comm_open", {"comm_id": comm_id, "target_name": "collet", "data": {}})
    )
    for data in batch:
        content = {"comm_id": comm_id, "data": data}
        kernel.kc.shell_channel.send(session.msg("comm_msg", content))
    kernel.kc.shell_channel.send(session.msg("comm_msg", {"comm_id": comm_id}))
    hello = {"comm_id": comm_id, "data": {"protocol_version": 1, "type": "hello"}}
    session.send(
        kernel.kc.shell_channel.socket, session.msg("comm_msg", hello), buffers=[b"\0\xff" * 9]
    )
    FUZZED["comm messages"] += len(batch) + 2

    def replies() -> list[dict]:
        return [
            m["content"]["data"]
            for m in kernel.messages
            if m["msg_type"] == "comm_msg"
            and m["content"]["comm_id"] == comm_id
            and m["content"]["data"].get("type") == "reply"
        ]

    kernel.wait_for(lambda: len(replies()) == len(batch) + 2, timeout=60)
    return replies()


def test_any_comm_message_gets_one_reply_and_no_exception_in_the_kernel(kernel):
    batch = drawn(REQUESTS, 150)
    replies = fuzz_comm(kernel, batch)
    assert all(r["protocol_version"] == 2 for r in replies)
    assert all(r["request_id"] is None or isinstance(r["request_id"], str) for r in replies)
    rejected = [r for r in replies if not r["ok"]]
    assert all(r["text"] for r in rejected)
    assert not any(r["text"].startswith("internal error") for r in replies), rejected
    report("comm hygiene", requests=len(batch) + 2, rejected=len(rejected))


def test_after_the_fuzzing_the_kernel_logged_no_error_and_the_session_answers(kernel):
    """Holds run alone too (-k, a rerun of the failures, another order): it fuzzes the kernel
    itself first, with a fresh batch of each kind, whatever ran before it."""
    for line in drawn(LINES, 30):
        FUZZED["magic lines"] += 1
        check_cell(kernel, f'get_ipython().find_line_magic("collet")({line!r})')
    for flags, body in drawn(st.tuples(FLAGS, st.text(max_size=60)), 15):
        FUZZED["magic cells"] += 1
        check_cell(kernel, f'get_ipython().find_cell_magic("collet")({flags!r}, {body!r})')
    fuzz_comm(kernel, drawn(REQUESTS, 50))
    assert kernel.eval("_errors.seen") == []
    reply, outputs = kernel.execute(
        "%collet /cancel\n%collet /approval auto\n%collet /agent code\n%collet /model demo\n"
        "%collet count slowly to 2\n%collet /wait 60"
    )
    assert reply["status"] == "ok", kernel.text(outputs)
    states = kernel.eval("[m['state'] for m in collet_nb.status()['messages']]")
    assert states[-1] == "answered", states
    assert set(states) <= {"answered", "failed", "cancelled"}
    report("bad input (inputs fuzzed)", **FUZZED)
