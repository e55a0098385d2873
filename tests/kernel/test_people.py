"""An MCP server's question answered headless, in a real kernel as nbclient or a person typing
cells would: ``%collet --wait`` (and ``/wait``) returns when the question waits, saying what it
asks and how to answer; ``%collet /answer {json}`` answers it with the defaults applied (a wrong
answer says what to fix), ``%collet /decline`` declines the next one. The model is the
OpenAI-compatible loopback server; the MCP server is the in-repo one (``--people``)."""

import json
import sys

import pytest

from tests.adapters.mcp.harness import SERVER
from tests.support.fake_llm import FakeLLM, FakeToolCall, Rule
from tests.support.kernel import KernelHarness

pytestmark = pytest.mark.kernel


@pytest.fixture
def llm():
    rules = [
        Rule(contains="who am I", tool_calls=[FakeToolCall(name="mcp__t__ask", arguments={})]),
        Rule(role="tool", text="Thanks."),
    ]
    with FakeLLM(rules) as server:
        yield server


@pytest.fixture
def kernel(tmp_path, llm):
    folder = tmp_path / ".collet"
    folder.mkdir()
    servers = {"t": {"command": sys.executable, "args": [SERVER, "stdio", "--people"]}}
    (folder / "mcp.json").write_text(json.dumps({"mcpServers": servers}))
    harness = KernelHarness(
        cwd=tmp_path,
        env={
            "COLLET_HOME": str(tmp_path / "home"), "COLLET_PROVIDER": "openai",
            "COLLET_BASE_URL": llm.base_url, "COLLET_API_KEY": "k", "COLLET_MODEL": "fake-model",
            "COLLET_APPROVAL": "yolo",
        },
    )  # fmt: skip
    reply, outputs = harness.execute("%load_ext collet_nb")
    assert reply["status"] == "ok", harness.text(outputs)
    yield harness
    harness.shutdown()


def run(kernel, code: str) -> str:
    reply, outputs = kernel.execute(code)
    assert reply["status"] == "ok", kernel.text(outputs)
    return kernel.text(outputs)


def test_wait_stops_at_the_question_and_answer_fills_in_the_defaults(kernel, llm):
    said = run(kernel, "%collet --wait who am I, please")
    # Mutation: wait_idle not returning while a question waits -> the cell waits until the
    # tool call times out instead.
    assert "awaiting your answer: MCP server 't' asks (e1): Who is asking?" in said
    assert "  name* (text) — Your name" in said
    assert "  age (an integer; 0 to 150; default 30) — Your age in years" in said
    assert '`%collet /answer {"name": "…"}`' in said
    wrong = run(kernel, '%collet /answer {"age": 200}')
    assert "collet: the answer needs fixing (nothing was sent): name: required" in wrong
    assert "age: 200 is above the maximum of 150" in wrong
    assert run(kernel, '%collet /answer {"name": "Ada"}').strip() == "answered e1"
    done = run(kernel, "%collet /wait")
    assert "m1 answered" in done
    tool = next(r for r in llm.chat_requests if r.last_role == "tool")
    assert tool.last_text == 'accepted {"name":"Ada","age":30,"colour":"green","subscribe":false}'

    said = run(kernel, "%collet --wait who am I now, please")
    assert "asks (e2)" in said
    assert run(kernel, "%collet /decline").strip() == "declined e2"
    assert "m2 answered" in run(kernel, "%collet /wait")
    tools = [r for r in llm.chat_requests if r.last_role == "tool"]
    assert tools[-1].last_text == "decline"
    late = run(kernel, "%collet /decline")
    assert late.startswith("nothing waits: e2 of MCP server t was declined by command at ")
