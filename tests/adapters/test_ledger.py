"""The user's usage ledger: one line per request, shared by every kernel of the user, counted
per local day; concurrent kernels lose nothing, a torn line costs only itself."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from collet_nb.adapters.ledger import UsageLedger
from collet_nb.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import sys, time
from pathlib import Path
from collet_nb.adapters.ledger import UsageLedger
folder, lines, name = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ledger = UsageLedger(folder, today=lambda: "2026-03-01")
(folder / f"ready-{name}").touch()
deadline = time.monotonic() + 30
while not (folder / "go").exists() and time.monotonic() < deadline:
    time.sleep(0.001)
for n in range(lines):
    ledger.add(session_id=name, model="m", prompt=2, completion=1, usd=0.5)
"""


def test_kernels_appending_at_once_lose_no_line(tmp_path):
    writers, lines = 4, 2000
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), str(lines), f"s{n}"], cwd=ROOT
        )
        for n in range(writers)
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("ready-*"))) < writers:  # all started: now write at once
        assert time.monotonic() < deadline, "the writers did not start"
        time.sleep(0.01)
    (tmp_path / "go").touch()
    for proc in procs:
        assert proc.wait(timeout=60) == 0
    tokens, usd = UsageLedger(tmp_path, today=lambda: "2026-03-01").totals()
    # Mutation: writing each line in two writes without the lock -> interleaved, unreadable
    # lines and a lower count.
    assert tokens == writers * lines * 3
    assert usd == pytest.approx(writers * lines * 0.5)
    records = (tmp_path / "usage" / "2026-03-01.jsonl").read_text().splitlines()
    assert len(records) == writers * lines
    assert {json.loads(r)["session"] for r in records} == {f"s{n}" for n in range(writers)}


def test_a_reader_counts_what_other_kernels_added_since_it_last_read(tmp_path):
    day = lambda: "2026-03-01"  # noqa: E731
    mine, theirs = UsageLedger(tmp_path, today=day), UsageLedger(tmp_path, today=day)
    assert mine.totals() == (0, 0.0)
    mine.add(session_id="a", model="m", prompt=10, completion=5, usd=None)
    assert mine.totals() == (15, 0.0)
    theirs.add(session_id="b", model="m", prompt=1, completion=1, usd=0.25)
    assert mine.totals() == (17, 0.25)
    assert theirs.totals() == (17, 0.25)


def test_a_line_torn_by_a_crash_is_skipped_and_the_next_one_counts(tmp_path):
    ledger = UsageLedger(tmp_path, today=lambda: "2026-03-01")
    ledger.add(session_id="a", model="m", prompt=1, completion=1, usd=None)
    with ledger.path().open("ab") as fh:
        fh.write(b'{"at":1,"session":"a","prompt":5')  # the kernel died mid-write
    ledger.add(session_id="a", model="m", prompt=3, completion=0, usd=None)
    assert UsageLedger(tmp_path, today=lambda: "2026-03-01").totals() == (5, 0.0)


def test_a_new_day_starts_from_zero(tmp_path):
    today = ["2026-03-01"]
    ledger = UsageLedger(tmp_path, today=lambda: today[0])
    ledger.add(session_id="a", model="m", prompt=100, completion=0, usd=1.0)
    assert ledger.totals() == (100, 1.0)
    today[0] = "2026-03-02"
    assert ledger.totals() == (0, 0.0)
    ledger.add(session_id="a", model="m", prompt=7, completion=0, usd=None)
    assert ledger.totals() == (7, 0.0)
    assert sorted(p.name for p in (tmp_path / "usage").iterdir()) == [
        "2026-03-01.jsonl",
        "2026-03-02.jsonl",
    ]


def test_a_ledger_that_cannot_be_read_stops_the_check_and_says_what_to_do(tmp_path):
    ledger = UsageLedger(tmp_path, today=lambda: "2026-03-01")
    ledger.path().mkdir(parents=True)  # something that is not a readable file
    with pytest.raises(ConfigError) as info:
        ledger.totals()
    assert info.value.key == str(ledger.path())
    assert "remove it" in str(info.value)
