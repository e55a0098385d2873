"""An admin's policy (a system-wide policy.toml) in force in a hub: a daily budget per user that
outlives /new and a kernel restart, a per-session budget nobody can allow going over, the models
it lists (at start, by /model, by --model), and /status and /policy saying which file set what.
"""

import asyncio
import json

import pytest

from collet_nb.core.events import ApprovalRequested
from collet_nb.core.settings import Settings
from collet_nb.errors import ConfigError
from collet_nb.runtime.hub import SessionHub
from tests.runtime.test_hub import NB, command
from tests.support.stand_ins import FunctionModel, answered_tools, call, last_user, text


@pytest.fixture
def admin(tmp_path, monkeypatch):
    """Writes the admin's policy.toml; the user's COLLET_HOME and project are under tmp_path."""
    system = tmp_path / "etc-collet"
    system.mkdir()
    monkeypatch.setenv("COLLET_SYSTEM_DIRS", str(system))
    monkeypatch.setenv("COLLET_HOME", str(tmp_path / "home"))
    (tmp_path / "project").mkdir()

    def write(body: str) -> str:
        (system / "policy.toml").write_text(body)
        return str(system / "policy.toml")

    return write


def make_hub(tmp_path, **settings) -> SessionHub:
    settings = {"approval": "yolo", "provider": "openai", "model": "fake-1", **settings}
    return SessionHub(
        settings=lambda _p: Settings(home=str(tmp_path / "home"), **settings),
        project_dir=tmp_path / "project",
        provider_factory=lambda s: FunctionModel(lambda r: text(f"re {last_user(r)}")),
    )  # each request reports 10 tokens


async def ask(hub: SessionHub, message: str, **flags) -> dict:
    runner = hub.runner(NB)
    sent = runner.send(message, **flags)
    await runner.wait_idle(10)
    return next(m for m in runner.status()["messages"] if m["id"] == sent.id)


def test_a_daily_budget_outlives_new_sessions_and_a_kernel_restart(tmp_path, admin):
    source = admin("daily_token_budget = 20\n")

    async def kernel_one():
        hub = make_hub(tmp_path)
        first = [await ask(hub, "one"), await ask(hub, "two")]
        command(hub, "/new")
        third = await ask(hub, "three")  # a fresh session: the day's count goes on
        status = command(hub, "/status").text
        await hub.aclose()
        return first, third, status

    async def kernel_two():
        hub = make_hub(tmp_path)
        fourth = await ask(hub, "four")
        await hub.aclose()
        return fourth

    first, third, status = asyncio.run(kernel_one())
    assert [m["state"] for m in first] == ["answered", "answered"]
    # Mutation: counting per session (no ledger) -> the new session answers.
    assert third["state"] == "failed"
    assert f"20 of 20 tokens today (set by {source})" in third["error"]
    assert "midnight" in third["error"]
    assert f"today: 20 of 20 tokens (daily budget set by {source})" in status
    fourth = asyncio.run(kernel_two())
    assert fourth["state"] == "failed"
    assert "used up" in fourth["error"]
    ledger = next((tmp_path / "home" / "usage").glob("*.jsonl")).read_text().splitlines()
    assert [json.loads(line)["prompt"] for line in ledger] == [10, 10]


def test_an_admins_session_budget_stops_the_turn_without_asking(tmp_path, admin):
    admin("token_budget = 10\n")

    async def main():
        hub = make_hub(tmp_path)
        events = []
        hub.runner(NB).subscribe(events.append)
        first, second = await ask(hub, "one"), await ask(hub, "two")
        await hub.aclose()
        return first, second, events

    first, second, events = asyncio.run(main())
    assert first["state"] == "answered"
    assert second["state"] == "failed"
    assert "session budget is used up: 10 of 10 tokens in this session" in second["error"]
    # Mutation: an admin's budget treated as the user's (it asks) -> the turn waits for a click.
    assert not [e for e in events if isinstance(e, ApprovalRequested)]


def test_only_the_models_the_admin_lists_are_used(tmp_path, admin):
    source = admin('models = ["fake-*"]\n')

    async def main():
        hub = make_hub(tmp_path)
        with pytest.raises(ConfigError) as by_command:
            command(hub, "/model gpt-4o")
        by_flag = await ask(hub, "hello", model="gpt-4o")
        fine = await ask(hub, "hello again", model="fake-2")
        await hub.aclose()
        return by_command.value, by_flag, fine

    by_command, by_flag, fine = asyncio.run(main())
    assert by_command.key == "model"
    assert f"model 'gpt-4o' is not allowed by {source} (allowed: fake-*)" in str(by_command)
    assert by_flag["state"] == "failed"
    assert "model 'gpt-4o' is not allowed" in by_flag["error"]
    assert fine["state"] == "answered"

    async def refused_at_start():
        hub = make_hub(tmp_path, model="gpt-4o")
        with pytest.raises(ConfigError) as info:
            hub.runner(NB)
        await hub.aclose()
        return info.value

    error = asyncio.run(refused_at_start())
    assert "the session cannot start: model 'gpt-4o' is not allowed by" in str(error)
    assert "COLLET_MODEL" in str(error)


def test_status_and_policy_say_which_file_set_what(tmp_path, admin):
    source = admin('approval = "manual"\ndeny = ["bash"]\n')
    home = tmp_path / "home"
    home.mkdir()
    (home / "policy.toml").write_text('approval = "yolo"\ndeny = ["mcp__*"]\n')

    async def main():
        hub = make_hub(tmp_path)  # the settings ask for yolo
        hub.sources_for = lambda _p: {"model": "/etc/collet/config.toml"}
        with pytest.raises(ConfigError) as refused:
            command(hub, "/approval yolo")
        texts = command(hub, "/status").text, command(hub, "/policy").text
        approval = hub.runner(NB).status()["approval"]
        await hub.aclose()
        return refused.value, texts, approval

    refused, (status, policy), approval = asyncio.run(main())
    assert approval == "manual"
    assert f"approval is fixed to manual by {source}" in str(refused)
    assert f"policy: approval manual: fixed by {source}; never offered: bash ({source})" in status
    assert f"approval from the policy ({source})" in status
    assert "model from /etc/collet/config.toml" in status
    lines = policy.splitlines()
    assert lines[0] == f"policy files, lowest first: {source} (admin), {home / 'policy.toml'}"
    assert f"never offered: bash ({source})" in lines
    assert f"never offered: mcp__* ({home / 'policy.toml'})" in lines
    assert lines[-1].startswith("settings: ")


def test_the_admins_floor_holds_at_the_gate_whatever_the_sessions_settings_say(tmp_path, admin):
    source = admin('min_approval = "auto"\n')

    def reply(request):
        if answered_tools(request) == 0:
            return [call("file_write", {"path": "out.txt", "content": "x"}, call_id="w")]
        return text("done")

    async def main():
        hub = make_hub(tmp_path)  # the settings ask for yolo
        hub.provider_factory = lambda _s: FunctionModel(reply)
        runner = hub.runner(NB)
        opened = runner.status()["approval"]
        with pytest.raises(ConfigError) as refused:
            command(hub, "/approval yolo")
        assert command(hub, "/approval manual").text == "approval manual"
        # Whatever sets the session's mode later, the gate applies the floor.
        runner.settings = runner.settings.replace(approval="yolo")
        runner.send("write it")
        state = await runner.wait_idle(10)
        asked = [p["name"] for p in runner.status()["pending_tools"]]
        runner.cancel()
        await hub.aclose()
        return opened, refused.value, state.value, asked

    opened, refused, state, asked = asyncio.run(main())
    assert opened == "auto"  # yolo raised to the floor when the session opened
    assert f"approval yolo is looser than the floor auto set by {source}" in str(refused)
    # Mutation: the gate reading the settings alone -> file_write runs without asking.
    assert (state, asked) == ("awaiting_approval", ["file_write"])


def test_a_daily_cost_budget_counts_priced_requests_in_usd(tmp_path, admin):
    admin("daily_cost_budget = 0.00004\n")  # 10 prompt tokens of gpt-4o: $0.000025 a request

    async def main():
        hub = make_hub(tmp_path, base_url="https://api.openai.com/v1", model="gpt-4o")
        states = [await ask(hub, "one"), await ask(hub, "two"), await ask(hub, "three")]
        await hub.aclose()
        return states

    states = asyncio.run(main())
    # Mutation: no price given to the quota -> nothing counts and the third answers.
    assert [m["state"] for m in states] == ["answered", "answered", "failed"]
    assert "daily budget is used up: $0.00005 of $0.00004 today" in states[2]["error"]
    ledger = next((tmp_path / "home" / "usage").glob("*.jsonl")).read_text().splitlines()
    assert [json.loads(line)["usd"] for line in ledger] == [pytest.approx(0.000025)] * 2
