"""The one bench command: every figure users feel, as one table (metric, value, the figure
before the change where one was recorded, target, met?) with the machine it ran on, and all
the figures as JSON.

    .venv/bin/python bench/run.py [--quick] [--json PATH] [--only NAME,...] [--no-peers]

Sections (each also runs alone: ``bench/<module>.py``): load (items 1, 8: load_ext.py),
stream (2: stream_throughput.py), cpu (3, the view layer's kernel CPU: view_cpu.py), traffic
(3, 4: comm_bytes.py), tools (5: tool_index.py), sessions (6: sessions.py), mcp (7:
mcp_start.py). ``--quick`` uses tiny sizes and skips the peers (the smoke test); the full run
takes a few minutes on 2 cores, plus about a minute the first time to install the peers' venvs
(bench/venvs.py, cached in bench/.venvs/).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import (  # noqa: E402
    comm_bytes,
    load_ext,
    machine,
    mcp_start,
    sessions,
    stream_throughput,
    tool_index,
    view_cpu,
)
from bench.report import Row, table  # noqa: E402

DEFAULT_JSON = ROOT / "bench" / ".out" / "results.json"


@dataclass(frozen=True, kw_only=True)
class Section:
    """One bench module: how to measure (full and quick sizes) and how to tabulate."""

    name: str
    items: str
    measure: Callable[..., dict[str, Any]]
    rows: Callable[[dict[str, Any]], list[Row]]
    full: dict[str, Any]
    quick: dict[str, Any]


SECTIONS = (
    Section(
        name="load",
        items="1, 8",
        measure=load_ext.measure,
        rows=load_ext.rows,
        full={"kernels": 7, "peers": True},
        quick={"kernels": 1, "peers": False},
    ),
    Section(
        name="stream",
        items="2",
        measure=stream_throughput.measure,
        rows=stream_throughput.rows,
        full={"tokens": 10_000, "runs": 10, "paced_gap": 0.002},
        quick={"tokens": 300, "runs": 1, "paced_gap": 0.001},
    ),
    Section(
        name="cpu",
        items="3",
        measure=view_cpu.measure,
        rows=view_cpu.rows,
        full={"events": 200_000, "per_window": 12, "repeats": 5, "unsynced": (2_500, 25_000)},
        quick={"events": 20_000, "per_window": 12, "repeats": 1, "unsynced": (500, 2_000)},
    ),
    Section(
        name="traffic",
        items="3, 4",
        measure=comm_bytes.measure,
        rows=comm_bytes.rows,
        full={"tokens": 10_000, "gap": 0.004, "probes": 5, "paced_tokens": 1000, "paced_gap": 0.04},
        quick={
            "tokens": 300,
            "gap": 0.0,
            "probes": 1,
            "paced_tokens": 100,
            "paced_gap": 0.01,
            "think": 0.0,
        },
    ),
    Section(
        name="tools",
        items="5",
        measure=tool_index.measure,
        rows=tool_index.rows,
        full={"tools": 3000, "queries": 1000},
        quick={"tools": 200, "queries": 50},
    ),
    Section(
        name="sessions",
        items="6",
        measure=sessions.measure,
        rows=sessions.rows,
        full={"sessions": 1000, "pool": 10_000},
        quick={"sessions": 20, "pool": 500},
    ),
    Section(
        name="mcp",
        items="7",
        measure=mcp_start.measure,
        rows=mcp_start.rows,
        full={"servers": 3, "rounds": 5},
        quick={"servers": 1, "rounds": 1},
    ),
)


def run(
    sections: list[Section], *, quick: bool, peers: bool
) -> tuple[list[Row], dict[str, Any], bool]:
    """Measure ``sections`` in order; a failing section becomes a row and the rest go on.

    Returns the rows, the JSON document and whether every section succeeded.
    """
    rows: list[Row] = []
    results: dict[str, Any] = {}
    ok = True
    for section in sections:
        sizes = dict(section.quick if quick else section.full)
        if "peers" in sizes:
            sizes["peers"] = sizes["peers"] and peers
        print(f"== {section.name} (items {section.items}) {sizes}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            figures = section.measure(**sizes)
            found = section.rows(figures)
        except Exception as exc:  # one broken section must not hide the others' figures
            ok = False
            traceback.print_exc()
            figures = {"error": f"{type(exc).__name__}: {exc}"}
            found = [
                Row(section=section.items, metric=f"{section.name} failed", value=figures["error"])
            ]
        took = time.perf_counter() - started
        print(f"   {took:.1f} s", file=sys.stderr, flush=True)
        results[section.name] = {"sizes": sizes, "seconds": round(took, 1), "figures": figures}
        rows += found
    return rows, results, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, no peers (smoke run)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"default {DEFAULT_JSON}")
    parser.add_argument(
        "--only", help="comma-separated section names: " + ", ".join(s.name for s in SECTIONS)
    )
    parser.add_argument("--no-peers", action="store_true", help="skip the peers' %%load_ext")
    args = parser.parse_args()
    chosen = list(SECTIONS)
    if args.only:
        names = {n.strip() for n in args.only.split(",")}
        unknown = names - {s.name for s in SECTIONS}
        if unknown:
            parser.error(f"unknown sections {sorted(unknown)}")
        chosen = [s for s in SECTIONS if s.name in names]
    described = machine.describe()  # before the run: its load average is the others' work
    started = time.perf_counter()
    when = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    rows, results, ok = run(chosen, quick=args.quick, peers=not args.no_peers)
    took = time.perf_counter() - started
    print(table(rows))
    print()
    print(machine.line(described))
    print(f"{'quick' if args.quick else 'full'} run of {len(chosen)} sections in {took:.0f} s")
    document = {
        "started": when,
        "quick": args.quick,
        "seconds": round(took, 1),
        "machine": described,
        "rows": [asdict(r) for r in rows],
        "sections": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=2) + "\n")
    print(f"figures written to {args.json}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
