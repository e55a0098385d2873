"""docs/jupyterhub.md's recipe, run: JupyterHub with configurable-http-proxy, the dummy
authenticator and the simple local process spawner; each user's key and the gateway's URL come
through the spawner's environment, the admin's config.toml and policy.toml from the image's
folder. Two users start their servers through the Hub's REST API and run a ``%%collet`` cell
over their kernel's WebSocket, at once, against the loopback LLM:

- each user's journal lands in their own COLLET_HOME, and only there;
- the admin's policy (bash denied, approval fixed to manual) holds against the user's own
  config.toml and policy.toml (yolo, bash allowed) and against ``/approval yolo``;
- each user's key reaches the model server in that user's requests, and appears in no output,
  no file under the users' homes and no line of the hub's log.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from tests.hub.harness import Hub, WsKernel, start_hub
from tests.support.fake_llm import FakeLLM, FakeToolCall, Rule

pytestmark = [pytest.mark.hub, pytest.mark.slow]

USERS = ("alice", "bob")

# Per-user keys, read by the hub's config from a file only the hub's account can read (the
# recipe's way: never in the config itself, never in the image).
KEYS_CONFIG = """
import json, pathlib
KEYS = json.loads(pathlib.Path({path!r}).read_text())
c.Spawner.environment["COLLET_API_KEY"] = lambda spawner: KEYS[spawner.user.name]
"""


@pytest.fixture
def llm():
    rules = [
        Rule(
            contains="please run",
            tool_calls=[FakeToolCall(name="bash", arguments={"command": "echo hi"})],
        ),
        Rule(
            role="tool",
            contains="unknown tool 'bash'",
            tool_calls=[FakeToolCall(name="file_read", arguments={"path": "notes.txt"})],
        ),
        Rule(role="tool", text="All done."),
    ]
    with FakeLLM(rules) as server:
        yield server


def admin_files(folder: Path, llm: FakeLLM) -> Path:
    """The image's ``{sys.prefix}/etc/collet``: the admin's defaults and policy."""
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text('model = "fake-model"\napproval = "auto"\n')
    (folder / "policy.toml").write_text(
        'approval = "manual"\ndeny = ["bash"]\nmodels = ["fake-*"]\n'
        f'base_urls = ["{llm.base_url}"]\n'
    )
    return folder


def user_files(home: Path, name: str) -> None:
    """What a user wrote to loosen things: yolo and bash allowed, in both of their files."""
    collet = home / ".collet"
    collet.mkdir(parents=True)
    (collet / "config.toml").write_text('approval = "yolo"\n')
    (collet / "policy.toml").write_text('approval = "yolo"\nallow = ["bash", "file_read"]\n')
    course = home / "course"
    course.mkdir()
    (course / "notes.txt").write_text(f"{name}'s notes\n")


async def session_of(hub: Hub, name: str, policy: Path) -> dict:
    """One user's notebook: load, try to loosen the policy, send a message, decide, report."""
    kernel_id = hub.start_kernel(name)
    kernel = WsKernel(hub.channels(name, kernel_id), hub.token)
    await kernel.connect()
    said: dict[str, str] = {}
    try:

        async def run(key: str, code: str) -> None:
            status, text = await kernel.execute(code)
            assert status == "ok", f"{name}: {code!r} → {text}"
            said[key] = text

        await run("chdir", "import os; os.chdir('course')")
        await run("load", "%load_ext collet_nb")
        await run("yolo", "%collet /approval yolo")
        await run("cell", f"%%collet --wait\n{name}: please run echo hi, then read notes.txt")
        await run("allow", "%collet /allow")
        await run("wait", "%collet /wait 20")
        await run("status", "import collet_nb, json; print(json.dumps(collet_nb.status()))")
        await run("policy", "%collet /policy")
    finally:
        await kernel.close()
    status = json.loads(said["status"].strip().splitlines()[-1])
    return {"said": said, "status": status, "messages": kernel.messages}


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_two_users_on_a_hub_each_get_their_key_their_journal_and_the_admins_policy(tmp_path, llm):
    image = admin_files(tmp_path / "image" / "etc" / "collet", llm)
    policy = image / "policy.toml"
    keys = {name: f"sk-{name}-{uuid.uuid4().hex}" for name in USERS}
    secret = tmp_path / "hub" / "keys.json"
    secret.parent.mkdir()
    secret.write_text(json.dumps(keys))
    secret.chmod(0o600)
    for name in USERS:
        user_files(tmp_path / "hub" / "homes" / name, name)
    hub = start_hub(
        tmp_path / "hub",
        environment={
            "COLLET_BASE_URL": llm.base_url,
            # The image would bake these into {sys.prefix}/etc/collet; here they are elsewhere.
            "COLLET_SYSTEM_DIRS": str(image),
        },
        extra=KEYS_CONFIG.format(path=str(secret)),
    )
    killed: list[str] = []
    try:
        hub.add_users(*USERS)
        for name in USERS:
            hub.start_server(name)
        for name in USERS:
            hub.wait_ready(name)

        async def both() -> list[dict]:
            return await asyncio.wait_for(
                asyncio.gather(*(session_of(hub, name, policy) for name in USERS)), 90
            )

        runs = dict(zip(USERS, asyncio.run(both()), strict=True))
        log = hub.log.read_text(errors="replace")
    finally:
        killed = hub.stop()
    assert not killed, f"processes outlived the hub's shutdown: {killed}"

    for name, run in runs.items():
        said, status = run["said"], run["status"]
        other = next(n for n in USERS if n != name)
        # The admin's policy holds: /approval yolo is refused, the mode stays manual although
        # the user's config.toml and policy.toml both say yolo.
        assert f"approval is fixed to manual by {policy}" in said["yolo"]
        assert status["approval"] == "manual"
        # Manual: even file_read, which the user's policy allows, waited for /allow.
        assert "file_read" in said["cell"]
        assert "allowed m1's file_read" in said["allow"]
        assert "m1 answered" in said["wait"]
        assert [m["state"] for m in status["messages"]] == ["answered"]
        assert f"{policy} (admin)" in said["policy"]
        assert f"never offered: bash ({policy})" in said["policy"]

        # The journal is in this user's COLLET_HOME, and only there.
        session = status["session_id"]
        home = hub.homes / name / ".collet"
        assert (home / "sessions" / f"{session}.jsonl").is_file()
        assert not (hub.homes / other / ".collet" / "sessions" / f"{session}.jsonl").exists()
        theirs = "".join(p.read_text() for p in (hub.homes / other / ".collet").rglob("*.jsonl"))
        assert f"{name}: please run" not in theirs
        assert not (Path.home() / ".collet" / "sessions" / f"{session}.jsonl").exists()

        # The key reached the model server with this user's requests, and nowhere else.
        mine = [r for r in llm.chat_requests if any(name in t for _, t in r.conversation)]
        assert len(mine) == 3  # bash refused, file_read allowed, the answer
        assert {r.headers.get("authorization") for r in mine} == {f"Bearer {keys[name]}"}
        assert all("bash" not in {t["function"]["name"] for t in r.body["tools"]} for r in mine)
        tool_results = [t for r in mine for role, t in r.conversation if role == "tool"]
        assert any("unknown tool 'bash'" in t for t in tool_results)
        assert any(f"{name}'s notes" in t for t in tool_results)
        key = keys[name]
        assert key not in json.dumps(run["messages"])  # nothing the kernel sent to the page
        assert key not in log  # the hub's, the servers' and the kernels' logs
        for path in files_under(hub.homes):
            assert key.encode() not in path.read_bytes(), path
