"""Start-up and shutdown of stdio MCP servers through the manager: concurrent vs one by one.

Starts N copies of the in-repo test server (tests/support/mcp_server.py) with one
``prepare()`` (concurrent), then the same N one after another, then times ``aclose()`` and
checks that no process of theirs is left. Medians over ``--rounds``, after a first round that
also pays for importing the SDK.

    .venv/bin/python bench/mcp_start.py [--servers 3] [--rounds 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import Row  # noqa: E402
from collet_nb.adapters.mcp import McpManager  # noqa: E402
from collet_nb.adapters.procs import ProcessRegistry, group_alive  # noqa: E402
from collet_nb.core.mcp_config import parse_mcp_config  # noqa: E402

SERVER = str(ROOT / "tests" / "support" / "mcp_server.py")


def manager(count: int, log_dir: Path) -> McpManager:
    entry = {"command": sys.executable, "args": [SERVER, "stdio"]}
    text = json.dumps({"mcpServers": {f"s{i}": entry for i in range(count)}})
    configs = parse_mcp_config(text, source="bench", env={})
    return McpManager(configs, log_dir=log_dir, processes=ProcessRegistry(), project_dir=ROOT)


async def one_round(count: int, log_dir: Path) -> dict[str, float]:
    concurrent = manager(count, log_dir)
    start = time.perf_counter()
    errors = await concurrent.prepare()
    together = time.perf_counter() - start
    assert not errors, errors
    pids = [s.pid for s in concurrent.describe() if s.pid is not None]
    start = time.perf_counter()
    await concurrent.aclose()
    closing = time.perf_counter() - start
    left = [pid for pid in pids if group_alive(pid)]
    assert not left, f"processes left after aclose: {left}"

    sequential = manager(count, log_dir)
    start = time.perf_counter()
    for name in (s.name for s in sequential.describe()):
        await sequential.restart(name)
    one_by_one = time.perf_counter() - start
    await sequential.aclose()
    return {"concurrent_s": together, "sequential_s": one_by_one, "close_s": closing}


async def main_async(count: int, rounds: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        # The first round of the process also imports the SDK (in a thread): shown apart.
        cold = await one_round(count, Path(tmp))
        results = [await one_round(count, Path(tmp)) for _ in range(rounds)]
    median = {key: statistics.median(r[key] for r in results) for key in results[0]}
    return {
        "servers": count,
        "rounds": rounds,
        "cores": os.cpu_count(),
        "cold_concurrent_s": round(cold["concurrent_s"], 3),
        **{key: round(value, 3) for key, value in median.items()},
        "speedup": round(median["sequential_s"] / median["concurrent_s"], 2),
    }


def measure(*, servers: int = 3, rounds: int = 5) -> dict[str, object]:
    """Medians over ``rounds`` (after the cold round) of starting and closing ``servers``."""
    return asyncio.run(main_async(servers, rounds))


def rows(figures: dict[str, Any]) -> list[Row]:
    """Item 7 of the issue."""
    n = figures["servers"]
    return [
        Row(
            section="7 MCP",
            metric=f"start {n} stdio servers: concurrent / one after another",
            value=f"{figures['concurrent_s'] * 1e3:.0f} / {figures['sequential_s'] * 1e3:.0f} ms "
            f"({figures['speedup']:.1f}×; first in process "
            f"{figures['cold_concurrent_s'] * 1e3:.0f} ms)",
        ),
        Row(
            section="7 MCP",
            metric=f"shut down all {n} (none left running)",
            value=f"{figures['close_s'] * 1e3:.0f} ms",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures: dict[str, Any] = measure(servers=args.servers, rounds=args.rounds)
    n = figures["servers"]
    print(f"{n} stdio servers on {figures['cores']} cores, median of {figures['rounds']} rounds")
    print(
        f"  first start in the process (SDK import included): {figures['cold_concurrent_s']:.3f} s"
    )
    print(f"  start, concurrent (one prepare): {figures['concurrent_s']:.3f} s")
    print(f"  start, one after another:        {figures['sequential_s']:.3f} s")
    print(f"  speed-up:                        {figures['speedup']:.2f}x")
    print(f"  aclose (all {n}, none left):      {figures['close_s']:.3f} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
