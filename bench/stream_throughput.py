"""Streaming throughput: tokens/s through the provider adapter and the agent loop, versus a
bare read of the same SSE stream from the same loopback server, as a ratio (target ≥ 0.9).

    .venv/bin/python bench/stream_throughput.py [--tokens 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collet_nb.adapters.providers import make_provider  # noqa: E402
from collet_nb.core.context import ConversationContext  # noqa: E402
from collet_nb.core.events import TextDelta  # noqa: E402
from collet_nb.core.session import AgentSession  # noqa: E402
from collet_nb.core.settings import Settings  # noqa: E402
from collet_nb.runtime.clock import SystemClock  # noqa: E402
from collet_nb.runtime.runner import SessionRunner  # noqa: E402
from tests.support.fake_llm import FakeLLM, Rule  # noqa: E402
from tests.support.stand_ins import EchoTools, MemoryJournal  # noqa: E402

CHUNK = 14  # characters per SSE event: about 4 tokens, like real providers


async def bare_read(base_url: str) -> tuple[float, int]:
    """Seconds to read the whole stream with httpx2 and count its events (no parsing)."""
    import httpx2

    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "go"}]}
    async with httpx2.AsyncClient(timeout=60) as client:
        started = time.perf_counter()
        events = 0
        async with client.stream("POST", f"{base_url}/chat/completions", json=body) as response:
            async for line in response.aiter_lines():
                events += line.startswith("data:")
        return time.perf_counter() - started, events


async def through_loop(base_url: str) -> tuple[float, int]:
    """Seconds for a whole turn through adapter + loop + runner, and the deltas delivered."""
    provider = make_provider("openai", base_url=base_url, api_key="k", model="m")
    runner = SessionRunner(
        session=AgentSession(
            session_id="bench",
            project_dir=".",
            context=ConversationContext(system_prompt="", budget=1_000_000),
        ),
        settings=Settings(approval="yolo"),
        provider=provider,
        tools=EchoTools(),
        journal=MemoryJournal(),
        clock=SystemClock(),
    )
    deltas = 0

    def count(event: object) -> None:
        nonlocal deltas
        deltas += isinstance(event, TextDelta)

    runner.subscribe(count)
    started = time.perf_counter()
    runner.send("go")
    await runner.wait_idle()
    elapsed = time.perf_counter() - started
    await runner.aclose()
    return elapsed, deltas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    answer = ("word " * int(args.tokens * 3.5 / 5))[: int(args.tokens * 3.5)]
    bare, loop = [], []
    with FakeLLM([Rule(text=answer, chunk_size=CHUNK)]) as llm:
        for _ in range(args.runs):
            bare.append(asyncio.run(bare_read(llm.base_url))[0])
            loop.append(asyncio.run(through_loop(llm.base_url))[0])
    tokens = len(answer) / 3.5
    result = {
        "tokens": round(tokens),
        "bare_tokens_per_s": round(tokens / statistics.median(bare)),
        "loop_tokens_per_s": round(tokens / statistics.median(loop)),
        "ratio": round(statistics.median(bare) / statistics.median(loop), 3),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
