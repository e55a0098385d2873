"""A kernel SIGKILLed mid-turn: the next load says so, and /resume brings the session back."""

import os
import re
import signal

import pytest

from collet_nb.adapters.journal import read_records
from tests.support.kernel import KernelHarness

pytestmark = pytest.mark.kernel


def test_after_a_kill_mid_turn_the_next_load_offers_resume_and_nothing_is_lost(tmp_path):
    env = {
        "COLLET_HOME": str(tmp_path / "home"),
        "COLLET_DEMO_PACE": "0.5",  # slow enough that the kill lands mid-answer
        "JPY_SESSION_NAME": str(tmp_path / "analysis.ipynb"),
    }
    first = KernelHarness(cwd=tmp_path, env=env)
    try:
        reply, outputs = first.execute(
            "%load_ext collet_nb\nimport collet_nb\n"
            "%collet explain what you can do\n%collet and then say it again"
        )
        assert reply["status"] == "ok", first.text(outputs)
        first.wait_for(
            lambda: first.eval("collet_nb.status()['messages'][0]['state']") == "running"
        )
        session_id = first.eval("collet_nb.status()['session_id']")
        accepted = first.eval("[m['id'] for m in collet_nb.status()['messages']]")
        os.kill(first.pid, signal.SIGKILL)
    finally:
        first.shutdown()
    # Every message the killed kernel had accepted is in its journal, in order.
    records = read_records(tmp_path / "home" / "sessions" / f"{session_id}.jsonl")
    assert [r["id"] for r in records if r["kind"] == "accepted"] == accepted == ["m1", "m2"]

    second = KernelHarness(cwd=tmp_path, env={**env, "COLLET_DEMO_PACE": "0"})
    try:
        reply, outputs = second.execute("%load_ext collet_nb\nimport collet_nb")
        notice = second.text(outputs)
        assert "ended mid-turn" in notice
        assert "2 message(s)" in notice
        command = re.search(r"%collet (/resume \w+)", notice)
        assert command is not None, notice
        assert session_id.startswith(command.group(1).split()[1])

        reply, outputs = second.execute(f"%collet {command.group(1)}")
        assert "resumed session" in second.text(outputs), second.text(outputs)
        messages = second.eval("[(m['text'], m['state']) for m in collet_nb.status()['messages']]")
        assert messages == [
            ("explain what you can do", "failed"),
            ("and then say it again", "failed"),
        ]
        reply, outputs = second.execute("%collet /retry\n%collet /wait 30")
        assert reply["status"] == "ok", second.text(outputs)
        states = second.eval("[m['state'] for m in collet_nb.status()['messages']]")
        assert states == ["failed", "failed", "answered"]
        # Resumed: a further load has nothing to report.
        reply, outputs = second.execute("%reload_ext collet_nb")
        assert "ended mid-turn" not in second.text(outputs)
    finally:
        second.shutdown()
