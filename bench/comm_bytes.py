"""What the browser receives while an answer streams, measured in a real kernel with the
OpenAI adapter against the loopback server (its own process):

* traffic of a ≈10,000-token answer (14-character events, ``--gap`` apart): comm bytes and
  messages (comm_open, comm_msg and display_data content, as comm bytes were always
  counted) against the answer's own size, and messages per second;
* delay from a delta's arrival to the first comm message that shows it: every sentence of
  the answer carries a numbered word; a runner subscriber in the kernel stamps when each
  arrives, and the kernel's own iopub header date stamps the comm message that first holds it;
* time to first token: cell request → the first comm message holding answer text, minus the
  server's own delay, for the kernel's first message and for later ones.

    .venv/bin/python bench/comm_bytes.py [--tokens 10000] [--gap 0.004] [--probes 5]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loopback import FIRST_WORD, MARKER, LoopbackServer, make_answer  # noqa: E402
from bench.report import Row, at_most, median, percentile  # noqa: E402
from tests.support.kernel import KernelHarness  # noqa: E402

BYTES_RATIO_TARGET = 2.0
UPDATES_TARGET = 20.0
LATENCY_P95_TARGET_MS = 50.0
SHOWN = ("comm_open", "comm_msg", "display_data")
# The badge of an answered message (the style sheet names the class too, without this prefix).
ANSWERED = "collet-badge collet-badge-answered"

# A runner subscriber that stamps (wall clock, like iopub header dates) when each numbered
# word of the answer has fully arrived.
LISTEN = f"""
import json, re, time
from collet_nb.core.events import TextDelta
from collet_nb.ui.extension import active
_bench_marker = re.compile({MARKER.pattern!r})
_bench_text = ""
_bench_arrived = {{}}
def _bench_listen(event):
    global _bench_text
    if not isinstance(event, TextDelta):
        return
    now = time.time()
    start = max(0, len(_bench_text) - 8)
    _bench_text += event.text
    for word in _bench_marker.findall(_bench_text, start):
        _bench_arrived.setdefault(word, now)
active().runner().subscribe(_bench_listen)
"""


@contextlib.contextmanager
def quiet_kernel_start() -> Iterator[None]:
    """Point fd 2 at /dev/null while a kernel starts: the kernel inherits it, so its TCP
    warning does not clutter the bench's output (its cells' errors still come over iopub)."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _stamp(msg: dict[str, Any]) -> float:
    stamp: float = msg["header"]["date"].timestamp()
    return stamp


class Watch:
    """The kernel's iopub messages from a mark on, scanned once each."""

    def __init__(self, kernel: KernelHarness) -> None:
        self.kernel = kernel
        self.start = len(kernel.messages)
        self._seen = self.start

    def shown(self) -> list[dict[str, Any]]:
        """The messages since the mark that reach the browser's widget manager or output."""
        return [m for m in self.kernel.messages[self.start :] if m["msg_type"] in SHOWN]

    def wait_for_text(self, needle: str, timeout: float) -> dict[str, Any]:
        """The first message after the last one found whose content holds ``needle``."""
        found: list[dict[str, Any]] = []

        def arrived() -> bool:
            for msg in self.kernel.messages[self._seen :]:
                self._seen += 1
                if msg["msg_type"] in SHOWN and needle in json.dumps(msg["content"]):
                    found.append(msg)
                    return True
            return False

        self.kernel.wait_for(arrived, timeout=timeout)
        return found[0]


def ttft(kernel: KernelHarness, prompt: str, delay: float) -> float:
    """Seconds from the cell's request to the first comm message holding answer text,
    minus the server's delay; waits for the answer to finish."""
    watch = Watch(kernel)
    requested = time.time()
    reply, outputs = kernel.execute(f"%%collet\n{prompt}")
    assert reply["status"] == "ok", kernel.text(outputs)
    first = watch.wait_for_text(FIRST_WORD, timeout=60)
    watch.wait_for_text(ANSWERED, timeout=60)
    return _stamp(first) - requested - delay


def traffic(answer: str, comms: list[dict[str, Any]], arrived: dict[str, float]) -> dict[str, Any]:
    """Bytes, messages and delta→comm delays of the messages ``comms`` shown for ``answer``."""
    stamps = [_stamp(m) for m in comms]
    span = max(stamps) - min(stamps) if len(stamps) > 1 else 1.0
    kinds: dict[str, dict[str, int]] = {}
    shown: dict[str, float] = {}
    route: dict[str, str] = {}  # how each word first reached the browser
    html = chrome = 0
    for msg, stamp in zip(comms, stamps, strict=True):
        text = json.dumps(msg["content"])
        size = len(text.encode())
        state = msg["content"].get("data", {}).get("state", {})
        state = state if isinstance(state, dict) else {}
        value = state.get("value")
        value_bytes = len(value.encode()) if isinstance(value, str) else 0
        html += value_bytes
        # Where the bytes go: widget kinds opened, and which trait each update carries.
        if msg["msg_type"] == "comm_open":
            label = f"comm_open {state.get('_model_name', '?')}"
        elif msg["msg_type"] == "comm_msg":
            label = f"comm_msg {'+'.join(sorted(state)) or msg['content']['data'].get('method')}"
        else:
            label = msg["msg_type"]
        for name in (msg["msg_type"], label):
            kind = kinds.setdefault(name, {"messages": 0, "bytes": 0, "html_bytes": 0})
            kind["messages"] += 1
            kind["bytes"] += size
            kind["html_bytes"] += value_bytes
        for word in MARKER.findall(text):
            if word not in shown:
                shown[word] = stamp
                route[word] = "piece" if msg["msg_type"] == "comm_open" else "tail"
        if not shown:
            chrome += size
    sent = sum(kinds[k]["bytes"] for k in SHOWN if k in kinds)
    text_bytes = len(answer.encode())
    delays = [(shown[w] - t) * 1e3 for w, t in arrived.items() if w in shown]
    missing = sorted(set(arrived) - set(shown))
    by_route = {}
    for name in ("tail", "piece"):
        some = [(shown[w] - t) * 1e3 for w, t in arrived.items() if route.get(w) == name]
        if some:
            by_route[name] = {"words": len(some), "p95": round(percentile(some, 0.95), 1)}
    return {
        "answer_bytes": text_bytes,
        "comm_messages": len(comms),
        "comm_bytes": sent,
        "bytes_ratio": round(sent / text_bytes, 2),
        "html_value_bytes": html,
        "by_kind": kinds,
        "updates_per_s": round(len(comms) / span, 1),
        "stream_seconds": round(span, 2),
        "markers": len(arrived),
        "markers_never_shown": missing[:10],
        "view_chrome_bytes": chrome,
        "delay_ms_by_route": by_route,
        "delay_ms": {
            "p50": round(percentile(delays, 0.5), 1),
            "p95": round(percentile(delays, 0.95), 1),
            "max": round(max(delays), 1),
        },
    }


def measure(
    *, tokens: int = 10_000, gap: float = 0.004, probes: int = 5, delay: float = 0.2
) -> dict[str, Any]:
    """One fresh kernel: the TTFT probes, then the long answer with its traffic."""
    answer = make_answer(tokens)
    with (
        tempfile.TemporaryDirectory() as tmp,
        LoopbackServer(tokens=tokens, gap=gap, delay=delay) as server,
    ):
        env = {
            "COLLET_HOME": str(Path(tmp) / "home"),
            "COLLET_PROVIDER": "openai",
            "COLLET_BASE_URL": server.base_url,
            "COLLET_API_KEY": "bench",
            "COLLET_MODEL": "loopback",
        }
        with quiet_kernel_start():
            kernel = KernelHarness(cwd=Path(tmp), env=env)
        try:
            reply, outputs = kernel.execute("%load_ext collet_nb")
            assert reply["status"] == "ok", kernel.text(outputs)
            first = ttft(kernel, "say first token", delay)
            warm = [ttft(kernel, f"say first token again ({n})", delay) for n in range(probes)]
            reply, outputs = kernel.execute(LISTEN)
            assert reply["status"] == "ok", kernel.text(outputs)
            watch = Watch(kernel)
            reply, outputs = kernel.execute("%%collet\nstream the long answer")
            assert reply["status"] == "ok", kernel.text(outputs)
            watch.wait_for_text(ANSWERED, timeout=300)
            comms = watch.shown()
            arrived = json.loads(kernel.eval("json.dumps(_bench_arrived)"))
        finally:
            kernel.shutdown()
    figures = traffic(answer, comms, arrived)
    figures.update(
        tokens=tokens,
        gap_s=gap,
        server_delay_s=delay,
        ttft_overhead_ms={
            "first_message": round(first * 1e3, 1),
            "later_median": round(median(warm) * 1e3, 1) if warm else None,
            "later_all": [round(w * 1e3, 1) for w in warm],
        },
    )
    return figures


def rows(figures: dict[str, Any]) -> list[Row]:
    """Items 3 and 4 of the issue."""
    d = figures["delay_ms"]
    t = figures["ttft_overhead_ms"]
    later = f"; later messages {t['later_median']:.0f} ms" if t["later_median"] is not None else ""
    return [
        Row(
            section="3 traffic",
            metric=f"comm bytes per {figures['tokens']:,}-token answer (× its text)",
            value=f"{figures['bytes_ratio']:.2f}× ({figures['comm_bytes']:,} B)",
            target=f"≤{BYTES_RATIO_TARGET:g}×",
            met=at_most(figures["bytes_ratio"], BYTES_RATIO_TARGET),
        ),
        Row(
            section="3 traffic",
            metric="comm messages per second while streaming",
            value=f"{figures['updates_per_s']:.1f}/s ({figures['comm_messages']} in "
            f"{figures['stream_seconds']:.1f} s)",
            target=f"≤{UPDATES_TARGET:g}/s",
            met=at_most(figures["updates_per_s"], UPDATES_TARGET),
        ),
        Row(
            section="3 traffic",
            metric="delta arrival → its comm message (p50 / p95 / max)",
            value=f"{d['p50']:.0f} / {d['p95']:.0f} / {d['max']:.0f} ms",
            target=f"p95 ≤{LATENCY_P95_TARGET_MS:g} ms",
            met=at_most(d["p95"], LATENCY_P95_TARGET_MS),
        ),
        Row(
            section="4 first token",
            metric="cell start → first answer update, minus server delay",
            value=f"first message {t['first_message']:.0f} ms{later}",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=10_000)
    parser.add_argument("--gap", type=float, default=0.004, help="seconds between SSE events")
    parser.add_argument("--probes", type=int, default=5, help="time-to-first-token repeats")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = measure(tokens=args.tokens, gap=args.gap, probes=args.probes)
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
