"""Browser traffic of one long streamed answer, measured in a real kernel.

Streams a ≈10,000-token answer (demo model, realistic pacing) into a ``%%collet`` cell's live
view and counts every comm message the kernel publishes for it: bytes (the JSON content the
frontend receives) and messages per second, against the answer's own size.

    .venv/bin/python bench/comm_bytes.py [--tokens 10000] [--pace 0.004]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.kernel import KernelHarness  # noqa: E402

SETUP = """
%load_ext collet_nb
import collet_nb
from collet_nb.adapters.demo import DemoProvider
from collet_nb.ui.extension import active
ANSWER = {answer!r}
active().hub.provider_factory = lambda s: DemoProvider(pace={pace}, scripts=(), fallback=ANSWER)
"""


def make_answer(tokens: int) -> str:
    """Markdown of about ``tokens`` tokens (bytes / 3.5): paragraphs, lists and code."""
    words = [
        "the",
        "agent",
        "reads",
        "the",
        "file",
        "then",
        "edits",
        "one",
        "function",
        "and",
        "runs",
        "the",
        "tests",
        "again",
    ]
    parts, size, n = [], 0, 0
    while size < tokens * 3.5:
        n += 1
        if n % 7 == 0:
            block = "```python\n" + "\n".join(f"x_{i} = compute({i})" for i in range(6)) + "\n```"
        elif n % 5 == 0:
            block = "\n".join(f"- step {i}: {' '.join(words[i : i + 6])}" for i in range(4))
        else:
            block = " ".join(words[(n + i) % len(words)] for i in range(60)).capitalize() + "."
        parts.append(block)
        size += len(block) + 2
    return "\n\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=10_000)
    parser.add_argument("--pace", type=float, default=0.004, help="seconds between 3-word deltas")
    args = parser.parse_args()
    answer = make_answer(args.tokens)
    with tempfile.TemporaryDirectory() as tmp:
        kernel = KernelHarness(cwd=Path(tmp), env={"COLLET_HOME": str(Path(tmp) / "home")})
        try:
            reply, outputs = kernel.execute(SETUP.format(answer=answer, pace=args.pace))
            assert reply["status"] == "ok", kernel.text(outputs)
            mark = len(kernel.messages)
            started = time.monotonic()
            kernel.execute("%%collet\nstream the long answer")
            kernel.wait_for(
                lambda: kernel.eval("collet_nb.status()['messages'][-1]['state']") == "answered",
                timeout=300,
            )
            elapsed = time.monotonic() - started
            # Every message that reaches the browser for it: new widgets (comm_open carries
            # their whole state) as well as updates (comm_msg), and the cell's display_data.
            comms = [
                m
                for m in kernel.messages[mark:]
                if m["msg_type"] in ("comm_open", "comm_msg", "display_data")
            ]
            stamps = [m["header"]["date"].timestamp() for m in comms]
        finally:
            kernel.shutdown()
    sent = sum(len(json.dumps(m["content"]).encode()) for m in comms)
    text = len(answer.encode())
    span = max(stamps) - min(stamps) if len(stamps) > 1 else elapsed
    result = {
        "answer_bytes": text,
        "answer_tokens_est": round(text / 3.5),
        "comm_messages": len(comms),
        "widgets_opened": sum(m["msg_type"] == "comm_open" for m in comms),
        "comm_bytes": sent,
        "bytes_ratio": round(sent / text, 2),
        "updates_per_s": round(len(comms) / span, 1),
        "stream_seconds": round(span, 2),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
