"""Golden fixtures of the view protocol, made by real runs of the runtime: what a sidebar
receives (the session's event log, as the feed sends it) and the final ``status()``.

The TypeScript tests (labextension/test) replay them through the one conversation model, so a
field renamed on one side fails CI. ``COLLET_UPDATE_GOLDEN=1 pytest tests/ui/test_golden.py``
writes them again after a deliberate change.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from collet_nb.core.commands import parse_command
from collet_nb.core.kinds import ChannelId
from collet_nb.core.settings import Settings
from collet_nb.runtime.commands import CommandRunner
from collet_nb.runtime.hub import SessionHub
from collet_nb.runtime.runner import SessionRunner
from collet_nb.ui.feed import EventFeed
from tests.support.stand_ins import FunctionModel, answered_tools, call, last_user, text

FIXTURES = Path(__file__).resolve().parents[2] / "labextension" / "test" / "fixtures"
NB = ChannelId.new("jupyter", "golden.ipynb")
WALL = 1_767_225_600.0  # 2026-01-01 00:00 UTC: every decision time, so files stay the same


def _model(request: Any) -> list[Any]:
    """One scripted model for every scenario, keyed by the last user message."""
    said = last_user(request)
    done = answered_tools(request)
    if said.startswith("plan"):
        return text("## Plan\n\n1. Write `README.md`.\n2. Nothing else.")
    if "README" in said and not done:
        return [
            *text("I'll update the README."),
            call(
                "file_write", {"path": "README.md", "content": "# app\n\nGreets.\n"}, call_id="w1"
            ),
        ]
    if "rename" in said and not done:
        edit = {"path": "app.py", "old_string": "def hi", "new_string": "def greet"}
        return [*text("Renaming."), call("file_edit", edit, call_id="e1")]
    if "flaky" in said and not getattr(_model, "failed", False):
        _model.failed = True  # type: ignore[attr-defined]  # once per process
        raise RuntimeError("the demo provider failed on purpose")
    if done:
        return text("Done: **README.md** is written.")
    return text("Hello! ", "Here is ", "`code`.")


Scenario = Callable[[SessionRunner, CommandRunner], Awaitable[None]]


async def _tool_approval(runner: SessionRunner, commands: CommandRunner) -> None:
    runner.send("update the README")
    await runner.wait_idle()
    runner.allow(by="button")
    await runner.wait_idle()
    runner.send("rename hi")
    await runner.wait_idle()
    runner.deny(reason="keep the old name", by="sidebar")
    await runner.wait_idle()


async def _plan(runner: SessionRunner, commands: CommandRunner) -> None:
    runner.send("plan a README", agent="architect")
    await runner.wait_idle()
    runner.approve_plan("keep it short", by="sidebar")
    await runner.wait_idle()
    runner.allow(by="command")
    await runner.wait_idle()


async def _failure_retry_cancel(runner: SessionRunner, commands: CommandRunner) -> None:
    runner.send("flaky one")
    await runner.wait_idle()
    runner.retry()
    await runner.wait_idle()
    commands.run(parse_command("/stream compact"))
    runner.send("say hi")
    runner.send("say hi again")
    runner.cancel()
    await runner.wait_idle()


SCENARIOS: dict[str, Scenario] = {
    "tool_approval": _tool_approval,
    "plan_approved": _plan,
    "failure_retry_cancel": _failure_retry_cancel,
}


def _stable(value: Any) -> Any:
    """The run's times, paths and ids replaced by fixed values (the files must not churn)."""
    if isinstance(value, dict):
        out = {k: _stable(v) for k, v in value.items()}
        for key in ("at",):
            if key in out and isinstance(out[key], int | float) and out[key]:
                out[key] = WALL
        if "duration_s" in out:
            out["duration_s"] = 0.0
        if "session_id" in out:
            out["session_id"] = "golden"
        for key in ("project_dir", "cwd"):
            if key in out:
                out[key] = "/project"
        return out
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def record(name: str, folder: Path) -> dict[str, Any]:
    """Run scenario ``name`` in a scratch project under ``folder``; its fixture."""
    project = folder / name
    project.mkdir(parents=True)
    (project / "README.md").write_text("# app\n")
    (project / "app.py").write_text("def hi():\n    return 'hi'\n")
    hub = SessionHub(
        settings=lambda _p: Settings(home=str(folder / f"{name}-home"), approval="auto"),
        project_dir=project,
        provider_factory=lambda _s: FunctionModel(_model),
    )
    feed = EventFeed(lambda _delay, _callback: None)  # the log only: nothing is sent

    async def main() -> dict[str, Any]:
        runner = hub.runner(NB)
        runner.subscribe(feed.add)
        await SCENARIOS[name](runner, CommandRunner(hub, NB))
        status = runner.status()
        await hub.aclose()
        return status

    status = asyncio.run(main())
    return _stable({"scenario": name, "events": feed.entries, "status": status})


def dumps(fixture: dict[str, Any]) -> str:
    """A fixture as its file holds it."""
    return json.dumps(fixture, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
