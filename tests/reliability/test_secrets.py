"""Secrets: a session that used an API key, echoed it (and a token) through bash and an MCP
tool, and met errors quoting both, leaves neither anywhere it writes or shows.

Scanned: every iopub message of a real kernel (widget states and updates, the sidebar's comm
traffic, cell outputs), every file under COLLET_HOME (journals, saved answers, MCP logs), a
notebook executed and saved by nbclient (outputs and widget state), and the log file of the
collet_nb, stamina, httpx2 and mcp loggers. The model itself is adversarial: it tries to show
the key in a streamed answer, cut into 3-character pieces.
"""

import json
import secrets
import sys
import uuid
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.adapters.mcp.harness import SERVER
from tests.reliability.figures import report
from tests.support.fake_llm import Fail, FakeLLM, FakeToolCall, Rule
from tests.support.kernel import ROOT, KernelHarness

pytestmark = pytest.mark.kernel

KEY = f"sk-collet-{secrets.token_hex(12)}"
TOKEN = f"hf_{secrets.token_hex(10)}"

SESSION = """
import logging, os
handler = logging.FileHandler({log!r})
handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(caused_by)s",
                                       defaults={{"caused_by": ""}}))
logging.getLogger().addHandler(handler)
for name in ("collet_nb", "stamina", "httpx2", "mcp"):
    logging.getLogger(name).setLevel(logging.DEBUG)
%load_ext collet_nb
import collet_nb
key, token = os.environ["OPENAI_API_KEY"], os.environ["HF_TOKEN"]
"""

CELLS = [
    "%collet show my key\n%collet /wait 60",
    "%collet this one fails\n%collet /wait 60",
    # A %%collet cell: its answer is also saved for a re-run.
    "%%collet --wait\nshow my key again",
    # Commands and errors that quote what they were given.
    "%collet /wait {key}",
    "%collet /remove {token}",
    "%collet /model {key}\n%collet /status\n%collet /sessions\n%collet /mcp list",
    # A logged secret and a logged exception quoting one (as a bug might).
    'logging.getLogger("collet_nb.probe").warning("probe %s", key)\n'
    "try:\n    raise RuntimeError(f'token was {token}')\n"
    'except RuntimeError:\n    logging.getLogger("collet_nb").exception("boom")\n'
    'logging.getLogger("stamina").warning("retry", extra={"caused_by": repr(key)})',
    "print(collet_nb.status()['model'])",
]


def fake_model() -> FakeLLM:
    return FakeLLM(
        [
            Rule(
                contains="show my key",
                tool_calls=[
                    FakeToolCall(
                        name="bash",
                        arguments={"command": "echo key=$OPENAI_API_KEY token=$HF_TOKEN"},
                    ),
                    FakeToolCall(name="mcp__demo__env", arguments={"name": "OPENAI_API_KEY"}),
                ],
            ),
            # The model tries to show the key in a streamed answer, in small pieces.
            Rule(role="tool", text=f"Here it is: {KEY} and {TOKEN}. Done.", chunk_size=3),
            Rule(
                contains="this one fails",
                faults=[Fail(status=400, message=f"bad request: key {KEY}, token {TOKEN}")] * 9,
                text="unreachable",
            ),
        ]
    )


def project(tmp_path: Path, name: str) -> tuple[Path, dict[str, str]]:
    cwd = tmp_path / name
    (cwd / ".collet").mkdir(parents=True)
    server = {
        "command": sys.executable,
        "args": [SERVER, "stdio"],
        "env": {"OPENAI_API_KEY": "${OPENAI_API_KEY}"},
    }
    (cwd / ".collet" / "mcp.json").write_text(json.dumps({"mcpServers": {"demo": server}}))
    env = {
        "COLLET_HOME": str(cwd / "home"),
        "COLLET_APPROVAL": "yolo",
        "COLLET_MAX_RETRIES": "1",
        "OPENAI_API_KEY": KEY,
        "HF_TOKEN": TOKEN,
        "JPY_SESSION_NAME": str(cwd / "secrets.ipynb"),
    }
    return cwd, env


def files_under(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): p.read_bytes().decode("utf-8", "replace")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def leaks(text: str) -> int:
    return text.count(KEY) + text.count(TOKEN)


def check_the_session_really_used_and_echoed_them(llm: FakeLLM) -> None:
    """Without this the scan could pass for a session that never touched the key."""
    chats = llm.chat_requests
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in chats)
    results = [r for r in chats if r.last_role == "tool"]
    assert results, "the tools never ran"
    seen = "\n".join(text for r in results for role, text in r.conversation if role == "tool")
    # The tools did print both (masked before the model saw them).
    assert "key=*** token=***" in seen
    assert "***" in seen.split("key=*** token=***")[-1]  # the MCP tool's answer
    assert leaks(json.dumps([r.body for r in chats])) == 0


def test_no_key_or_token_is_left_in_comm_messages_files_journals_or_logs(tmp_path):
    cwd, env = project(tmp_path, "kernel")
    log = tmp_path / "kernel.log"
    with fake_model() as llm:
        env.update({"COLLET_PROVIDER": "openai", "COLLET_BASE_URL": llm.base_url})
        harness = KernelHarness(cwd=cwd, env=env)
        try:
            reply, outputs = harness.execute(SESSION.format(log=str(log)))
            assert reply["status"] == "ok", harness.text(outputs)
            shown: list[str] = []
            for cell in CELLS:
                reply, outputs = harness.execute(cell)
                assert reply["status"] == "ok", harness.text(outputs)
                shown.append(harness.text(outputs))
            sidebar_replies = open_sidebar_and_ask(harness)
        finally:
            harness.shutdown()
        check_the_session_really_used_and_echoed_them(llm)

    text = "\n".join(shown)
    assert "m1 answered" in text
    assert "m2 failed" in text
    assert "m3 answered" in text
    assert "HTTP 400" in text
    assert "key ***, token ***" in text
    assert "/wait takes a number of seconds, not '***'" in text
    assert "***" in text.splitlines()[-1]  # the model name is the key: masked in status()
    assert any("***" in r for r in sidebar_replies)
    answers = [
        m
        for m in harness.messages
        if m["msg_type"] in ("comm_open", "comm_msg", "display_data", "update_display_data")
    ]
    assert any("Here it is: *** and ***. Done." in json.dumps(m, default=str) for m in answers)
    logged = log.read_text()
    for line in ("probe ***", "token was ***", "'***'"):
        assert line in logged

    found = {
        "iopub": leaks(json.dumps(harness.messages, default=str)),
        "files": {name: leaks(body) for name, body in files_under(cwd).items() if leaks(body)},
        "log": leaks(logged),
    }
    report(
        "secrets (kernel)",
        iopub_messages=len(harness.messages),
        files_scanned=sorted(files_under(cwd)),
        log_lines=len(logged.splitlines()),
        found=found["iopub"] + sum(found["files"].values()) + found["log"],
    )
    assert found == {"iopub": 0, "files": {}, "log": 0}


def open_sidebar_and_ask(harness: KernelHarness) -> list[str]:
    """The sidebar asks for a status and runs a command quoting the key; returns its replies."""
    comm_id = uuid.uuid4().hex
    session = harness.kc.session

    def send(kind: str, content: dict) -> None:
        harness.kc.shell_channel.send(session.msg(kind, content))

    send("comm_open", {"comm_id": comm_id, "target_name": "collet", "data": {}})
    # Requests go over the shell channel (not scanned: they are the user's own input).
    for number, text in enumerate([f"/model {KEY}", f"/remove {TOKEN}", "/status"]):
        request = {
            "protocol_version": 2,
            "type": "command",
            "text": text,
            "request_id": str(number),
        }
        send("comm_msg", {"comm_id": comm_id, "data": request})

    def replies() -> list[str]:
        return [
            m["content"]["data"]["text"]
            for m in harness.messages
            if m["msg_type"] == "comm_msg"
            and m["content"]["comm_id"] == comm_id
            and m["content"]["data"].get("type") == "reply"
        ]

    harness.wait_for(lambda: len(replies()) == 3, timeout=20)
    return replies()


def test_a_notebook_saved_after_such_a_session_holds_neither(tmp_path, monkeypatch):
    cwd, env = project(tmp_path, "saved")
    with fake_model() as llm:
        env.update({"COLLET_PROVIDER": "openai", "COLLET_BASE_URL": llm.base_url})
        for name, value in {**env, "PYTHONPATH": str(ROOT), "COLLET_DEMO_PACE": "0"}.items():
            monkeypatch.setenv(name, value)
        nb = nbformat.v4.new_notebook()
        setup = SESSION.format(log=str(tmp_path / "saved.log"))
        nb.cells = [nbformat.v4.new_code_cell(c) for c in [setup, *CELLS]]
        NotebookClient(
            nb,
            timeout=90,
            kernel_name="python3",
            store_widget_state=True,
            resources={"metadata": {"path": str(cwd)}},
        ).execute()
        check_the_session_really_used_and_echoed_them(llm)
    path = cwd / "secrets.ipynb"
    nbformat.write(nb, path)
    saved = path.read_text()
    outputs = json.dumps([c.outputs for c in nb.cells])
    assert "m1 answered" in outputs
    assert "widgets" in nb.metadata  # the widget state was saved too
    report("secrets (saved notebook)", bytes=len(saved), found=leaks(saved))
    assert leaks(saved) == 0
