"""What the browser receives while an answer streams into a cell, measured in a real kernel
with the OpenAI adapter against the loopback server (its own process).

The bench plays the front end: as soon as a ``%%collet`` cell's ConversationView opens on
iopub it sends the view's ``sync`` (a ``custom`` comm message, as anywidget does when the
view renders; the kernel sends a view nothing before). Then, for a ≈10,000-token answer
(14-character events ``--gap`` apart):

* traffic: the bytes of every comm_open, comm_msg, comm_close, display_data and
  update_display_data (their content, packed as the kernel packs it) and of their buffers,
  from the cell's request to the answer's end, against the answer's own UTF-8 size; without
  the static transcript (the one update_display_data at the end) and with it. The kernel's
  first message also pays the renderer library's comm_open (the bundle,
  ``collet_nb/static/message_view.js``, whatever its size today) once; a second message in
  the same kernel is the steady state. Both are measured; the targets are read on the steady
  state. Jupyter's envelope (header, parent header, metadata) is shown apart;
* events messages per second while streaming: the view's ``events`` comm messages, as one over
  their mean interval;
* delay from a delta's arrival to the events message that shows it: every sentence carries a
  numbered word; a runner subscriber in the kernel stamps when each has fully arrived, and the
  iopub header date (the kernel's clock too) of the first ``events`` batch that completes it
  stamps when it left;
* time to first token: cell request → the first events message holding answer text, minus the
  server's delay: the kernel's first message (the long answer, no delay) and later ones.

``complete`` says whether the view got the whole answer: when the answer ends, the output
closes its view, and in the same flush that may come before the view's last batch is sent
(then that batch is neither counted nor shown, and a short answer's view got no text at all:
its time-to-first-token probe is left out).

The same traffic at a real model's pace (``--paced-tokens`` in 14-character events
``--paced-gap`` apart; 0.04 s is 100 tokens/s) is shown too: a batch then holds fewer
characters, so each message's fixed bytes weigh more.

The figures before the change (the ipywidgets HTML tree rendered in the kernel) are shown
beside them: 7.2× the answer's bytes, 39 messages/s, p95 95 ms.

    .venv/bin/python bench/comm_bytes.py [--tokens 10000] [--gap 0.004] [--probes 5] [--think 2]
                                         [--paced-tokens 1000] [--paced-gap 0.04]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loopback import CHARS_PER_TOKEN, CHUNK, MARKER, LoopbackServer, make_answer  # noqa: E402
from bench.report import Row, at_most, median, percentile  # noqa: E402
from collet_nb.ui.output import WIDGET_MIME  # noqa: E402
from collet_nb.ui.protocol import PROTOCOL_VERSION  # noqa: E402
from collet_nb.ui.view import BUNDLE  # noqa: E402
from tests.support.kernel import KernelHarness  # noqa: E402

BYTES_RATIO_TARGET = 1.5  # without the static transcript
BYTES_RATIO_TRANSCRIPT_TARGET = 2.5  # with the one transcript update at the end
UPDATES_TARGET = 20.0
LATENCY_P95_TARGET_MS = 50.0
# The figures of the ipywidgets HTML tree this view replaced (the text).
BEFORE = {"bytes_ratio": 7.2, "updates_per_s": 39.0, "delay_p95_ms": 95.0}

SHOWN = ("comm_open", "comm_msg", "comm_close", "display_data", "update_display_data")
LONG = "stream the long answer"  # the loopback's long answer (no server delay)
PACED = "stream the paced answer"  # the same Markdown at a real model's pace

# A runner subscriber (every runner, from its first event) that stamps, by message, when
# each numbered word of the answer has fully arrived (wall clock, like iopub header dates).
LISTEN = f"""
import json, re, time
from collet_nb.core.events import TextDelta
from collet_nb.ui.extension import active
_bench_marker = re.compile({MARKER.pattern!r})
_bench_tail = {{}}
_bench_arrived = {{}}
_bench_span = {{}}
def _bench_listen(event):
    if not isinstance(event, TextDelta):
        return
    now = time.time()
    mid = event.message_id
    tail = _bench_tail.get(mid, "") + event.text
    _bench_tail[mid] = tail[-8:]
    arrived = _bench_arrived.setdefault(mid, {{}})
    for word in _bench_marker.findall(tail):
        arrived.setdefault(word, now)
    _bench_span.setdefault(mid, [now, now])[1] = now
active().on_runner(lambda _channel, runner: runner.subscribe(_bench_listen))
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


def _packed(obj: Any) -> int:
    """Bytes of ``obj`` as the kernel's session packs it."""
    from jupyter_client.session import json_packer

    return len(json_packer(obj))


def _data(msg: dict[str, Any]) -> dict[str, Any]:
    data = msg["content"].get("data")
    return data if isinstance(data, dict) else {}


def _events(msg: dict[str, Any], comm_id: str) -> list[dict[str, Any]] | None:
    """The events a comm message carries to view ``comm_id`` (None when it is something else)."""
    if msg["msg_type"] != "comm_msg" or msg["content"].get("comm_id") != comm_id:
        return None
    data = _data(msg)
    content = data.get("content")
    if data.get("method") != "custom" or not isinstance(content, dict):
        return None
    events = content.get("events")
    return events if content.get("type") == "events" and isinstance(events, list) else None


def to_view(kernel: KernelHarness, comm_id: str, content: dict[str, Any]) -> None:
    """A custom message from the browser to a view's model, as anywidget sends it."""
    data = {"method": "custom", "content": {"protocol_version": PROTOCOL_VERSION, **content}}
    msg = kernel.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
    kernel.kc.shell_channel.send(msg)


@dataclass(kw_only=True)
class Turn:
    """One ``%%collet`` cell seen from the browser: its iopub messages from the request to the
    answer's end (the transcript replaced the view and the view's comm closed)."""

    message_id: str
    requested: float
    synced: float
    view_comm: str
    messages: list[dict[str, Any]]


def run_cell(kernel: KernelHarness, prompt: str, *, timeout: float = 300) -> Turn:
    """Run ``%%collet prompt`` as a front end would: sync the view the moment it opens, then
    wait until the answer has ended."""
    start = len(kernel.messages)
    requested = time.time()
    msg_id = kernel.kc.execute(f"%%collet\n{prompt}")
    seen = start
    found: dict[str, Any] = {}

    def done() -> bool:
        nonlocal seen
        for msg in kernel.messages[seen:]:
            seen += 1
            kind, content = msg["msg_type"], msg["content"]
            parent = msg["parent_header"].get("msg_id")
            if kind == "error" and parent == msg_id:
                raise RuntimeError(f"the cell failed: {content['ename']}: {content['evalue']}")
            state = _data(msg).get("state")
            if (
                kind == "comm_open"
                and parent == msg_id
                and isinstance(state, dict)
                and str(state.get("_anywidget_id", "")).endswith("ConversationView")
            ):
                to_view(kernel, content["comm_id"], {"type": "sync", "seen": 0})
                found.update(view=content["comm_id"], message_id=state.get("message_id", ""),
                             synced=time.time())  # fmt: skip
            elif kind == "display_data" and parent == msg_id:
                found["display_id"] = content.get("transient", {}).get("display_id")
            elif (
                kind == "update_display_data"
                and content.get("transient", {}).get("display_id") == found.get("display_id")
                and WIDGET_MIME not in content.get("data", {})
            ):
                found["ended"] = True
            elif kind == "comm_close" and content.get("comm_id") == found.get("view"):
                found["closed"] = True
            elif (
                kind == "status" and parent == msg_id and content["execution_state"] == "idle"
            ) and "view" not in found:
                raise RuntimeError(f"the cell showed no live view: {prompt!r}")
            # The ended view's widget closes CLOSE_AFTER (30 s) later, no longer shown: the
            # turn is over for the browser when its output turned static.
            if found.get("ended"):
                return True
        return False

    kernel.wait_for(done, timeout=timeout)
    reply = kernel.kc.get_shell_msg(timeout=10)
    assert reply["content"]["status"] == "ok", reply["content"]
    return Turn(
        message_id=found["message_id"],
        requested=requested,
        synced=found["synced"],
        view_comm=found["view"],
        messages=kernel.messages[start:seen],
    )


def _label(msg: dict[str, Any]) -> str:
    """What a message is, for the bytes by kind."""
    kind = msg["msg_type"]
    data = _data(msg)
    state = data.get("state")
    if kind == "comm_open" and isinstance(state, dict):
        name = str(state.get("_anywidget_id") or state.get("_model_name", "?"))
        return f"comm_open {name.rsplit('.', 1)[-1]}"
    if kind == "comm_msg":
        content = data.get("content")
        what = content.get("type") if isinstance(content, dict) else None
        return f"comm_msg {data.get('method')}{f' {what}' if what else ''}"
    return kind


def replay(turn: Turn) -> tuple[list[float], str, dict[str, float], float | None]:
    """The view's events messages, read as the view reads them: their stamps, the answer it
    rebuilds, when each numbered word was first complete, and when the first text came."""
    stamps: list[float] = []
    text = ""
    shown_at: dict[str, float] = {}
    first_text: float | None = None
    for msg in turn.messages:
        events = _events(msg, turn.view_comm)
        if events is None:
            continue
        stamp = _stamp(msg)
        stamps.append(stamp)
        before = len(text)
        for event in events:
            if event.get("message_id") != turn.message_id:
                continue
            if event.get("type") == "text_delta":
                text += str(event.get("text", ""))
            elif event.get("type") == "answer_reset":
                text, before = "", 0
        if len(text) > before and first_text is None:
            first_text = stamp
        for word in MARKER.findall(text, max(0, before - 8)):
            shown_at.setdefault(word, stamp)
    return stamps, text, shown_at, first_text


def traffic(turn: Turn, answer: str, arrived: dict[str, float]) -> dict[str, Any]:
    """Bytes, events messages and delta→events delays of one turn, for ``answer``."""
    shown = [m for m in turn.messages if m["msg_type"] in SHOWN]
    kinds: dict[str, dict[str, int]] = {}
    total = envelope = transcript = library = transcript_updates = 0
    for msg in shown:
        size = _packed(msg["content"]) + sum(len(b) for b in msg.get("buffers") or ())
        total += size
        envelope += sum(_packed(msg[k]) for k in ("header", "parent_header", "metadata"))
        label = _label(msg)
        kind = kinds.setdefault(label, {"messages": 0, "bytes": 0})
        kind["messages"] += 1
        kind["bytes"] += size
        if msg["msg_type"] == "update_display_data":
            transcript += size
            transcript_updates += 1
        if label == "comm_open ViewLibrary":
            library += size
    stamps, text, shown_at, first_text = replay(turn)
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    delays = [(shown_at[w] - t) * 1e3 for w, t in arrived.items() if w in shown_at]
    answer_bytes = len(answer.encode())
    without = total - transcript
    return {
        "message_id": turn.message_id,
        "answer_bytes": answer_bytes,
        "complete": text == answer,
        "bytes": total,
        "bytes_without_transcript": without,
        "bytes_ratio": round(total / answer_bytes, 2),
        "bytes_ratio_without_transcript": round(without / answer_bytes, 2),
        "transcript_updates": transcript_updates,
        "transcript_bytes": transcript,
        "library_bytes": library,
        "envelope_bytes": envelope,
        "bytes_ratio_with_envelope": round((total + envelope) / answer_bytes, 2),
        "by_kind": dict(sorted(kinds.items(), key=lambda kv: -kv[1]["bytes"])),
        "events_messages": len(stamps),
        "events_span_s": round(span, 2),
        # One over the mean interval: N batches ≥ 50 ms apart give ≤ 20/s, however long.
        "updates_per_s": round((len(stamps) - 1) / span, 1) if span else None,
        "shortest_gap_ms": round(min(gaps) * 1e3, 1) if gaps else None,
        "sync_after_request_ms": round((turn.synced - turn.requested) * 1e3, 1),
        "first_text_ms": round((first_text - turn.requested) * 1e3, 1) if first_text else None,
        "markers": len(arrived),
        "markers_never_shown": sorted(set(arrived) - set(shown_at))[:10],
        "delay_ms": {
            "p50": round(percentile(delays, 0.5), 1),
            "p95": round(percentile(delays, 0.95), 1),
            "max": round(max(delays), 1),
        }
        if delays
        else None,
    }


def measure(
    *,
    tokens: int = 10_000,
    gap: float = 0.004,
    probes: int = 5,
    delay: float = 0.2,
    paced_tokens: int = 1000,
    paced_gap: float = 0.04,
    think: float = 2.0,
) -> dict[str, Any]:
    """One fresh kernel: the long answer as its first message (``think`` seconds after
    ``%load_ext``, as a person reads before writing), again as the steady state, the paced
    answer (``paced_gap`` 0 skips it), then the time-to-first-token probes."""
    answer = make_answer(tokens)
    paced = make_answer(paced_tokens)
    with (
        tempfile.TemporaryDirectory() as tmp,
        LoopbackServer(
            tokens=tokens, gap=gap, delay=delay, paced_tokens=paced_tokens, paced_gap=paced_gap
        ) as server,
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
            for cell in ("%load_ext collet_nb", LISTEN):
                reply, outputs = kernel.execute(cell)
                assert reply["status"] == "ok", kernel.text(outputs)
            time.sleep(think)  # the extension warms up meanwhile (ui/extension.py)
            first = run_cell(kernel, LONG)
            steady = run_cell(kernel, f"{LONG} again")
            turns = {"first": (first, answer), "steady": (steady, answer)}
            if paced_gap:
                turns["paced"] = (run_cell(kernel, PACED), paced)
            later = [run_cell(kernel, f"say first token again ({n})") for n in range(probes)]
            arrived = json.loads(kernel.eval("json.dumps(_bench_arrived)"))
            spans = json.loads(kernel.eval("json.dumps(_bench_span)"))
        finally:
            kernel.shutdown()
    figures: dict[str, Any] = {
        name: {
            **traffic(turn, text, arrived.get(turn.message_id, {})),
            "stream_s": round(spans[turn.message_id][1] - spans[turn.message_id][0], 2)
            if turn.message_id in spans
            else None,
        }
        for name, (turn, text) in turns.items()
    }
    ttft_later = []
    for turn in later:
        first_text = replay(turn)[3]
        if first_text is not None:
            ttft_later.append((first_text - turn.requested - delay) * 1e3)
    figures.update(
        tokens=tokens,
        gap_s=gap,
        server_delay_s=delay,
        paced_tokens=paced_tokens,
        paced_gap_s=paced_gap,
        bundle_file_bytes=BUNDLE.stat().st_size if BUNDLE.is_file() else None,
        before=BEFORE,
        ttft_overhead_ms={
            "first_message": figures["first"]["first_text_ms"],
            "later_median": round(median(ttft_later), 1) if ttft_later else None,
            "later_all": [round(t, 1) for t in ttft_later],
            "probes": probes,
            "think_s": think,
        },
    )
    return figures


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def rows(figures: dict[str, Any]) -> list[Row]:
    """The browser's side of the cell view (item 3) and time to first token (item 4)."""
    s, f = figures["steady"], figures["first"]
    without = f"{s['bytes_ratio_without_transcript']:.2f}× ({s['bytes_without_transcript']:,} B)"
    answer = f"{figures['tokens']:,}-token answer's {s['answer_bytes']:,} B"
    before_bytes = f"{BEFORE['bytes_ratio']:g}×"
    out = [
        Row(
            section="3 traffic",
            metric=f"browser bytes ÷ {answer}, steady state, no transcript",
            value=without,
            before=before_bytes,
            target=f"≤{BYTES_RATIO_TARGET:g}×",
            met=at_most(s["bytes_ratio_without_transcript"], BYTES_RATIO_TARGET),
        ),
        Row(
            section="3 traffic",
            metric=f"… with the transcript at the end ({s['transcript_updates']} update)",
            value=f"{s['bytes_ratio']:.2f}× ({s['bytes']:,} B)",
            before=before_bytes,
            target=f"≤{BYTES_RATIO_TRANSCRIPT_TARGET:g}×",
            met=at_most(s["bytes_ratio"], BYTES_RATIO_TRANSCRIPT_TARGET),
        ),
        Row(
            section="3 traffic",
            metric="… the kernel's first message, + the library's comm_open (bundle file "
            f"{figures['bundle_file_bytes'] or 0:,} B): no transcript / with",
            value=f"{f['bytes_ratio_without_transcript']:.2f}× / {f['bytes_ratio']:.2f}× "
            f"(library {f['library_bytes']:,} B)",
        ),
        Row(
            section="3 traffic",
            metric="… steady state, counting Jupyter's envelope (header, parent, metadata)",
            value=f"{s['bytes_ratio_with_envelope']:.2f}× (+{s['envelope_bytes']:,} B)",
        ),
    ]
    if "paced" in figures:
        p = figures["paced"]
        pace = CHUNK / CHARS_PER_TOKEN / figures["paced_gap_s"]
        out.append(
            Row(
                section="3 traffic",
                metric=f"… at {pace:.0f} tok/s ({figures['paced_tokens']:,}-token answer): no "
                "transcript / with; events messages per second",
                value=f"{p['bytes_ratio_without_transcript']:.2f}× / {p['bytes_ratio']:.2f}×; "
                f"{_rate(p['updates_per_s'])}/s",
            )
        )
    rate = s["updates_per_s"]
    out.append(
        Row(
            section="3 traffic",
            metric="the view's events messages per second while streaming, steady state",
            value=f"{_rate(rate)}/s ({s['events_messages']} in "
            f"{s['events_span_s']:.1f} s; shortest gap {_ms(s['shortest_gap_ms'])} ms)",
            before=f"{BEFORE['updates_per_s']:g}/s",
            target=f"≤{UPDATES_TARGET:g}/s",
            met=None if rate is None else at_most(rate, UPDATES_TARGET),
        )
    )
    d = s["delay_ms"]
    out.append(
        Row(
            section="3 traffic",
            metric="delta arrival → its events message p50 / p95 / max, steady state",
            value="no words shown"
            if d is None
            else f"{d['p50']:.0f} / {d['p95']:.0f} / {d['max']:.0f} ms",
            before=f"p95 {BEFORE['delay_p95_ms']:g} ms",
            target=f"p95 ≤{LATENCY_P95_TARGET_MS:g} ms",
            met=None if d is None else at_most(d["p95"], LATENCY_P95_TARGET_MS),
        )
    )
    t = figures["ttft_overhead_ms"]
    later = (
        f"; later messages {_ms(t['later_median'])} ms ({len(t['later_all'])} of {t['probes']})"
        if t["later_all"]
        else ""
    )
    out.append(
        Row(
            section="4 first token",
            metric="cell start → first answer events message, minus server delay",
            value=f"first message {_ms(t['first_message'])} ms "
            f"({t['think_s']:g} s after %load_ext){later}",
            before="first message 325 ms (at once after %load_ext, no warm-up)",
        )
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=10_000)
    parser.add_argument("--gap", type=float, default=0.004, help="seconds between SSE events")
    parser.add_argument("--probes", type=int, default=5, help="time-to-first-token repeats")
    parser.add_argument("--paced-tokens", type=int, default=1000)
    parser.add_argument("--paced-gap", type=float, default=0.04, help="0 skips the paced answer")
    parser.add_argument(
        "--think", type=float, default=2.0, help="seconds between %%load_ext and the first message"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = measure(
        tokens=args.tokens,
        gap=args.gap,
        probes=args.probes,
        paced_tokens=args.paced_tokens,
        paced_gap=args.paced_gap,
        think=args.think,
    )
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
