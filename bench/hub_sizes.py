"""What one JupyterHub user costs the machine and the gateway (the figures docs/jupyterhub.md
quotes): a user's Jupyter server (what the spawner runs, before any kernel); a kernel's RSS bare,
after ``%load_ext collet_nb``, after its first turn and after ``--turns`` more; its CPU while
idle, bare and with a session open; the journal on disk per turn; and what each model request
carries (system prompt and tools) for the gateway to hold.

Each of ``--kernels`` fresh kernels (the venv's, driven by jupyter_client) talks to the tests'
loopback LLM, in this process: turn one reads a file (a tool call, then the answer), the others
are one-line answers. RSS is VmRSS from /proc (the kernel, and separately its child processes:
the watchdog); idle CPU is the kernel's user+system time over ``--idle`` seconds with a session
open and nothing running (and, to compare, before ``%load_ext``). Medians over the kernels.

    .venv/bin/python bench/hub_sizes.py [--kernels 3] [--turns 10] [--idle 10] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from subprocess import DEVNULL
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load_ext import _run, rss_kb  # noqa: E402
from bench.report import Row, median  # noqa: E402
from tests.support.fake_llm import FakeLLM, FakeToolCall, Rule  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def children_rss_kb(pid: int) -> int:
    """The summed VmRSS of ``pid``'s descendants (the watchdog, any tool's process)."""
    total = 0
    for child in psutil.Process(pid).children(recursive=True):
        try:
            total += child.memory_info().rss // 1024
        except psutil.NoSuchProcess:
            continue
    return total


def _ok(client: Any, code: str) -> str:
    reply, out, err = _run(client, code)
    if reply["status"] != "ok":
        raise RuntimeError(f"{code[:40]!r} failed: {err.strip()[-300:]}")
    return out


def one_kernel(llm: FakeLLM, *, turns: int, idle: float) -> dict[str, Any]:
    """One fresh kernel through the whole story; its figures."""
    from jupyter_client.manager import KernelManager

    with tempfile.TemporaryDirectory() as tmp:
        project, home = Path(tmp) / "project", Path(tmp) / "home"
        project.mkdir()
        (project / "notes.txt").write_text("the notes\n" * 20)
        env = {k: v for k, v in os.environ.items() if not k.startswith("COLLET_")}
        env.pop("PYTHONPATH", None)
        env.update(
            COLLET_HOME=str(home), COLLET_PROVIDER="openai", COLLET_BASE_URL=llm.base_url,
            COLLET_API_KEY="bench-key", COLLET_MODEL="fake-model", COLLET_APPROVAL="yolo",
            COLLET_SYSTEM_DIRS="",
        )  # fmt: skip
        km = KernelManager(kernel_name="python3")
        km.kernel_spec.argv[0] = sys.executable
        km.start_kernel(cwd=str(project), env=env, stdout=DEVNULL, stderr=DEVNULL)
        client = km.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            pid = km.provisioner.pid  # type: ignore[union-attr]
            _ok(client, "import json, sys, time")
            bare = rss_kb(pid)
            before_idle = cpu_s(pid)
            time.sleep(idle)
            bare_cpu = cpu_s(pid) - before_idle
            _ok(client, "%load_ext collet_nb")
            loaded = rss_kb(pid)
            said = _ok(client, "%collet --wait please read notes.txt")
            if "answered" not in said:
                raise RuntimeError(f"the first turn did not answer: {said[-300:]}")
            first = rss_kb(pid)
            for n in range(turns):
                _ok(client, f"%collet --wait hello {n}")
            after = rss_kb(pid)
            children = children_rss_kb(pid)
            before_idle = cpu_s(pid)
            time.sleep(idle)
            idle_cpu = cpu_s(pid) - before_idle
            journal = sum(p.stat().st_size for p in (home / "sessions").glob("*.jsonl"))
        finally:
            client.stop_channels()
            km.shutdown_kernel(now=False)
    return {
        "bare_mb": bare / 1024,
        "load_ext_mb": (loaded - bare) / 1024,
        "first_turn_mb": (first - loaded) / 1024,
        "per_turn_kb": (after - first) / max(1, turns),
        "added_mb": (after - bare) / 1024,
        "children_mb": children / 1024,
        "idle_cpu_ms_per_min": idle_cpu * 1e3 * 60 / idle,
        "bare_idle_cpu_ms_per_min": bare_cpu * 1e3 * 60 / idle,
        "journal_kb_per_turn": journal / 1024 / (turns + 1),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_mb() -> float:
    """The RSS of a Jupyter server with this venv's server extensions (JupyterLab, Notebook 7),
    as a spawner starts one per user, once it answers and before any kernel."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        argv = [str(Path(sys.executable).parent / "jupyter-server"), f"--ServerApp.port={port}"]
        argv += [
            "--ServerApp.port_retries=0",
            "--ServerApp.token=bench",
            f"--ServerApp.root_dir={tmp}",
        ]
        argv += ["--ServerApp.open_browser=False", "--ServerApp.allow_root=True"]
        env = {**os.environ, "JUPYTER_RUNTIME_DIR": tmp, "HOME": tmp}
        server = subprocess.Popen(argv, stdout=DEVNULL, stderr=DEVNULL, env=env, cwd=tmp)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=2).close()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("the Jupyter server did not start") from None
                    time.sleep(0.1)
            time.sleep(1.0)  # let the extensions finish loading
            return rss_kb(server.pid) / 1024
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


def measure(*, kernels: int = 3, turns: int = 10, idle: float = 10.0) -> dict[str, Any]:
    """Medians over ``kernels`` kernels, what the model requests carried, a server's RSS."""
    rules = [
        Rule(
            contains="read notes.txt",
            tool_calls=[FakeToolCall(name="file_read", arguments={"path": "notes.txt"})],
        ),
        Rule(role="tool", text="The notes say the same line twenty times."),
        Rule(text="ok."),
    ]
    with FakeLLM(rules) as llm:
        runs = [one_kernel(llm, turns=turns, idle=idle) for _ in range(kernels)]
        bodies = [json.dumps(r.body) for r in llm.chat_requests]
        tools = len(llm.chat_requests[0].body.get("tools") or [])
    figures: dict[str, Any] = {"kernels": kernels, "turns": turns, "idle_s": idle}
    for key in runs[0]:
        figures[key] = round(median(r[key] for r in runs), 2)
    figures["first_request_kb"] = round(len(bodies[0]) / 1024, 1)
    figures["first_request_tokens"] = round(len(bodies[0]) / 3.5)  # the package's estimate
    figures["tools_offered"] = tools
    figures["last_request_kb"] = round(len(bodies[-1]) / 1024, 1)
    figures["server_mb"] = round(server_mb(), 1)
    return figures


def rows(figures: dict[str, Any]) -> list[Row]:
    """The JupyterHub sizing figures."""
    f = figures
    return [
        Row(
            section="hub",
            metric="a user's Jupyter server, no kernel",
            value=f"{f['server_mb']:.0f} MB",
        ),
        Row(
            section="hub",
            metric="kernel RSS: bare; + %load_ext; + first turn",
            value=f"{f['bare_mb']:.0f} MB; +{f['load_ext_mb']:.1f} MB; "
            f"+{f['first_turn_mb']:.1f} MB",
        ),
        Row(
            section="hub",
            metric=f"RSS collet adds to a kernel after {f['turns'] + 1} turns (+ child processes)",
            value=f"{f['added_mb']:.1f} MB (+{f['children_mb']:.1f} MB); "
            f"{f['per_turn_kb']:.0f} KiB per later turn",
        ),
        Row(
            section="hub",
            metric="idle kernel CPU: bare / with a session; journal per turn",
            value=f"{f['bare_idle_cpu_ms_per_min']:.0f} / {f['idle_cpu_ms_per_min']:.0f} ms per "
            "minute; "
            f"{f['journal_kb_per_turn']:.1f} KiB",
        ),
        Row(
            section="hub",
            metric="a first model request: body (tokens, tools offered)",
            value=f"{f['first_request_kb']:.1f} KiB (≈{f['first_request_tokens']:,} tokens, "
            f"{f['tools_offered']} tools)",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", type=int, default=3)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle to time")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = measure(kernels=args.kernels, turns=args.turns, idle=args.idle)
    for row in rows(figures):
        print(f"{row.metric}: {row.value}")
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
