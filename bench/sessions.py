"""The session pool: what an idle session costs, and how long the stale-eviction sweep takes.

Idle sessions are opened through the real ``SessionHub`` (builtin tools, checkpoints,
skills, toolbox, JSONL journal, runner) with a stand-in provider; their cost is read with
tracemalloc (Python allocations), VmRSS and the count of open file descriptors. The sweep is
``SessionPool.evict_stale`` over ``--pool`` sessions, when none is stale (what every
``hub.runner()`` call pays) and when all are.

    .venv/bin/python bench/sessions.py [--sessions 1000] [--pool 10000] [--json PATH]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load_ext import rss_kb  # noqa: E402
from bench.report import Row, median  # noqa: E402
from collet_nb.core.context import ConversationContext  # noqa: E402
from collet_nb.core.kinds import ChannelId  # noqa: E402
from collet_nb.core.pool import SessionPool  # noqa: E402
from collet_nb.core.session import AgentSession  # noqa: E402
from collet_nb.core.settings import Settings  # noqa: E402
from collet_nb.runtime.hub import SessionHub  # noqa: E402
from tests.support.stand_ins import FunctionModel, text  # noqa: E402


def open_fds() -> int:
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


def idle_sessions(count: int) -> dict[str, Any]:
    """Open ``count`` sessions through a SessionHub; what each costs while idle."""
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        settings = Settings(home=str(Path(tmp) / "home"))
        hub = SessionHub(
            settings=lambda _p: settings,
            project_dir=project,
            provider_factory=lambda _s: FunctionModel(lambda _r: text("ok")),
        )
        hub.runner(ChannelId.new("bench", "warm-up"))  # imports and caches outside the count
        gc.collect()
        fds, rss = open_fds(), rss_kb(os.getpid())
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        for n in range(count):
            hub.runner(ChannelId.new("bench", f"notebook-{n}.ipynb"))
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
        figures = {
            "sessions": count,
            "python_bytes_per_session": round(grown / count),
            "rss_kb_per_session": round((rss_kb(os.getpid()) - rss) / count, 1),
            "open_fds_per_session": round((open_fds() - fds) / count, 2),
        }
        # The journals stay open while their sessions live: close them before the folder goes.
        for runner in hub.runners.values():
            runner.journal.close()
    return figures


def stale_sweep(count: int) -> dict[str, Any]:
    """``SessionPool.evict_stale`` over ``count`` sessions: none stale, then all stale."""
    sessions = [
        AgentSession(
            session_id=f"s{n}",
            project_dir="/project",
            context=ConversationContext(system_prompt="", budget=1000),
            last_activity=1000.0 + n * 0.01,  # active within 100 s of each other
        )
        for n in range(count)
    ]

    def pool() -> SessionPool:
        fresh = SessionPool(timeout_secs=3600.0)
        for n, session in enumerate(sessions):
            fresh.insert(ChannelId.new("bench", str(n)), session)
        return fresh

    live = pool()
    none_stale = []
    for _ in range(20):
        start = time.perf_counter()
        evicted = live.evict_stale(1000.0 + count * 0.01)
        none_stale.append(time.perf_counter() - start)
        assert not evicted
    all_stale = []
    for _ in range(5):
        full = pool()
        start = time.perf_counter()
        evicted = full.evict_stale(1000.0 + count * 0.01 + 3600.0)
        all_stale.append(time.perf_counter() - start)
        assert len(evicted) == count
    return {
        "pool": count,
        "sweep_none_stale_ms": round(median(none_stale) * 1e3, 3),
        "sweep_all_stale_ms": round(median(all_stale) * 1e3, 3),
    }


def measure(*, sessions: int = 1000, pool: int = 10_000) -> dict[str, Any]:
    """Both halves of item 6."""
    return {**idle_sessions(sessions), **stale_sweep(pool)}


def rows(figures: dict[str, Any]) -> list[Row]:
    """Item 6 of the issue."""
    return [
        Row(
            section="6 sessions",
            metric=f"one idle session (of {figures['sessions']:,}, via SessionHub)",
            value=f"{figures['python_bytes_per_session'] / 1024:.1f} KiB Python "
            f"({figures['rss_kb_per_session']:.0f} KiB RSS), "
            f"{figures['open_fds_per_session']:g} open file",
        ),
        Row(
            section="6 sessions",
            metric=f"evict_stale sweep over {figures['pool']:,} sessions: none / all stale",
            value=f"{figures['sweep_none_stale_ms']:.1f} / {figures['sweep_all_stale_ms']:.1f} ms",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--pool", type=int, default=10_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = measure(sessions=args.sessions, pool=args.pool)
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
