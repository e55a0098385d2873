"""The bench command runs end to end with tiny sizes (its figures are not checked here: timings
belong to the bench, not to the test suite), and so does each bench script alone."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import Row, table
from bench.run import Section, run

ROOT = Path(__file__).resolve().parents[1]
ITEMS = ("1 load", "2 stream", "3 view CPU", "3 traffic", "4 first token", "5 tool index")
ITEMS += ("6 sessions", "7 MCP", "8 memory")
SECTIONS = {"load", "stream", "cpu", "traffic", "tools", "sessions", "mcp"}


def bench(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.kernel
def test_the_quick_bench_prints_a_row_for_every_item_and_writes_every_section_as_json(tmp_path):
    out = tmp_path / "bench.json"
    done = bench("bench/run.py", "--quick", "--json", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    head = [c.strip() for c in lines[0].split("|")[1:-1]]
    assert head == ["#", "metric", "value", "before", "target", "met?"]
    sections = {line.split("|")[1].strip() for line in lines if line.startswith("| ")}
    assert set(ITEMS) <= sections, sections
    assert any(line.startswith("machine: ") and "cores" in line for line in lines)
    document = json.loads(out.read_text())
    assert document["quick"] is True
    assert document["machine"]["cores"].isdigit()
    assert set(document["sections"]) == SECTIONS
    for name, section in document["sections"].items():
        assert "error" not in section["figures"], (name, section["figures"])
    assert {row["section"] for row in document["rows"]} >= set(ITEMS)


@pytest.mark.slow
@pytest.mark.kernel
@pytest.mark.parametrize(
    "args",
    [
        ["bench/load_ext.py", "--kernels", "1", "--no-peers"],
        ["bench/stream_throughput.py", "--tokens", "200", "--runs", "1"],
        [
            *("bench/comm_bytes.py", "--tokens", "200", "--gap", "0", "--probes", "1"),
            *("--paced-tokens", "100", "--paced-gap", "0.01"),
        ],
        ["bench/view_cpu.py", "--events", "5000", "--repeats", "1", "--unsynced", "500"],
        ["bench/tool_index.py", "--tools", "100", "--queries", "10"],
        ["bench/sessions.py", "--sessions", "5", "--pool", "50"],
        ["bench/mcp_start.py", "--servers", "1", "--rounds", "1"],
        ["bench/hub_sizes.py", "--kernels", "1", "--turns", "1", "--idle", "0.1"],
    ],
    ids=lambda args: Path(args[0]).stem,
)
def test_each_bench_script_still_runs_alone(args):
    done = bench(*args)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip()


def test_a_failing_section_becomes_a_row_and_the_sections_after_it_still_run():
    def broken() -> dict:
        raise RuntimeError("the loopback server did not start")

    def fine() -> dict:
        return {"value": 3}

    sections = [
        Section(name="broken", items="9", measure=broken, rows=lambda f: [], full={}, quick={}),
        Section(
            name="fine",
            items="10",
            measure=fine,
            rows=lambda f: [Row(section="10", metric="m", value=str(f["value"]))],
            full={},
            quick={},
        ),
    ]
    rows, results, ok = run(sections, quick=True, peers=False)
    assert not ok
    assert results["broken"]["figures"] == {
        "error": "RuntimeError: the loopback server did not start"
    }
    assert results["fine"]["figures"] == {"value": 3}
    assert [(r.section, r.metric) for r in rows] == [("9", "broken failed"), ("10", "m")]


def test_the_table_marks_missed_targets_and_leaves_rows_without_a_target_blank():
    text = table(
        [
            Row(section="1", metric="fast", value="5 ms", before="9 ms", target="≤10 ms", met=True),
            Row(section="2", metric="slow", value="50 ms", target="≤10 ms", met=False),
            Row(section="3", metric="info", value="7"),
        ]
    )
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1  # aligned columns
    cells = [[c.strip() for c in line.split("|")[1:-1]] for line in lines[2:]]
    assert [row[5] for row in cells] == ["yes", "NO", ""]
    assert [row[3] for row in cells] == ["9 ms", "", ""]  # the figure before the change
    assert cells[2][4] == ""
