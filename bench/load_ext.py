"""``%load_ext`` in fresh kernels: collet_nb (no MCP configured) against the peers' magics,
each in its own venv (bench/venvs.py), plus the kernel's RSS growth from loading.

Every kernel runs one warm-up cell, then one cell that times
``get_ipython().run_line_magic('load_ext', NAME)`` with ``time.perf_counter`` inside the
kernel; the client also times that cell from request to idle, and reads the kernel's VmRSS
from /proc before and after. Kernels of the targets take turns; medians over ``--kernels``.

    .venv/bin/python bench/load_ext.py [--kernels 7] [--no-peers] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from subprocess import DEVNULL
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import venvs  # noqa: E402
from bench.report import Row, at_least, at_most, median  # noqa: E402

TARGET_MS = 100.0
# The targets: at least this many times faster than each peer's %load_ext.
SPEEDUPS = {"jupyter_ai_magics": 5.0, "jupyter_ai_magic_commands": 20.0}

WARM_UP = "import json, sys, time"
CELL = """
_before = set(sys.modules)
_start = time.perf_counter()
get_ipython().run_line_magic("load_ext", {name!r})
_took = time.perf_counter() - _start
print(json.dumps({{
    "in_kernel_s": _took,
    "loaded": {name!r} in get_ipython().extension_manager.loaded,
    "new_modules": sorted({{m.split(".")[0] for m in set(sys.modules) - _before}}),
    "new_module_count": len(set(sys.modules) - _before),
}}))
"""


@dataclass(frozen=True, kw_only=True)
class Target:
    """An extension to load and the interpreter whose kernel loads it."""

    label: str
    extension: str
    python: Path


def rss_kb(pid: int) -> int:
    """The resident set size of ``pid`` in kB (VmRSS of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def kernel_env(home: Path) -> dict[str, str]:
    """The environment of a bench kernel: no COLLET_* settings, no PYTHONPATH of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLET_") and k != "PYTHONPATH"}
    env["COLLET_HOME"] = str(home)
    # litellm (jupyter-ai 3) fetches its model cost map at import; offline that fetch fails
    # after a while. Use the packaged map, so the peers are not charged for our missing network.
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    return env


def _run(client: Any, code: str) -> tuple[dict[str, Any], str, str]:
    """Execute ``code``; return (reply content, its stdout, its stderr and error text)."""
    out: list[str] = []
    err: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        content = msg["content"]
        if msg["msg_type"] == "stream":
            (out if content["name"] == "stdout" else err).append(content["text"])
        elif msg["msg_type"] == "error":
            err.append(f"{content['ename']}: {content['evalue']}")

    reply = client.execute_interactive(code, timeout=120, output_hook=hook)
    return reply["content"], "".join(out), "".join(err)


def one_kernel(target: Target) -> dict[str, Any]:
    """Start a fresh kernel of ``target.python``, load the extension once, shut it down."""
    from jupyter_client.manager import KernelManager

    with tempfile.TemporaryDirectory() as tmp:
        km = KernelManager(kernel_name="python3")
        km.kernel_spec.argv[0] = str(target.python)
        # The kernel's own stderr (its TCP warning) would only clutter the table's output.
        km.start_kernel(cwd=tmp, env=kernel_env(Path(tmp) / "home"), stdout=DEVNULL, stderr=DEVNULL)
        client = km.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            _run(client, WARM_UP)
            pid = km.provisioner.pid  # type: ignore[union-attr]
            before = rss_kb(pid)
            start = time.perf_counter()
            reply, text, errors = _run(client, CELL.format(name=target.extension))
            wall = time.perf_counter() - start
            after = rss_kb(pid)
        finally:
            client.stop_channels()
            km.shutdown_kernel(now=False)
    if reply["status"] != "ok":
        raise RuntimeError(f"%load_ext {target.extension} failed: {errors.strip()[-300:]}")
    found = json.loads(text.strip().splitlines()[-1])
    if not found["loaded"]:
        raise RuntimeError(f"%load_ext {target.extension} did not load: {errors.strip()[-300:]}")
    return {
        "in_kernel_s": found["in_kernel_s"],
        "request_to_idle_s": wall,
        "rss_before_mb": before / 1024,
        "rss_delta_mb": (after - before) / 1024,
        "new_modules": found["new_modules"],
        "new_module_count": found["new_module_count"],
    }


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "kernels": len(runs),
        "in_kernel_ms": round(median(r["in_kernel_s"] for r in runs) * 1e3, 1),
        "request_to_idle_ms": round(median(r["request_to_idle_s"] for r in runs) * 1e3, 1),
        "in_kernel_ms_min": round(min(r["in_kernel_s"] for r in runs) * 1e3, 1),
        "in_kernel_ms_all": [round(r["in_kernel_s"] * 1e3, 1) for r in runs],
        "rss_before_mb": round(median(r["rss_before_mb"] for r in runs), 1),
        "rss_delta_mb": round(median(r["rss_delta_mb"] for r in runs), 1),
        "new_module_count": runs[0]["new_module_count"],
        "new_modules": runs[0]["new_modules"],
    }


def measure(*, kernels: int = 7, peers: bool = True) -> dict[str, Any]:
    """Medians over ``kernels`` fresh kernels per target; peers skipped with a note."""
    targets = [Target(label="collet_nb", extension="collet_nb", python=Path(sys.executable))]
    figures: dict[str, Any] = {"peers": {}}
    for peer in venvs.PEERS:
        if not peers:
            figures["peers"][peer.extension] = {"label": peer.label, "skipped": "not asked for"}
            continue
        venv = venvs.ensure(peer)
        if venv.python is None:
            figures["peers"][peer.extension] = {"label": peer.label, "skipped": venv.note}
            continue
        targets.append(Target(label=peer.label, extension=peer.extension, python=venv.python))
        figures["peers"][peer.extension] = {
            "label": peer.label,
            "versions": venv.versions,
            "install_s": round(venv.install_s, 1),
        }
    runs: dict[str, list[dict[str, Any]]] = {t.extension: [] for t in targets}
    for _ in range(kernels):
        for target in targets:
            try:
                runs[target.extension].append(one_kernel(target))
            except RuntimeError as exc:
                if target.extension == "collet_nb":
                    raise
                figures["peers"][target.extension]["skipped"] = str(exc)
        targets = [t for t in targets if "skipped" not in figures["peers"].get(t.extension, {})]
    figures["collet_nb"] = _summary(runs["collet_nb"])
    mine = figures["collet_nb"]["in_kernel_ms"]
    for target in targets[1:]:
        summary = _summary(runs[target.extension])
        summary["speedup"] = round(summary["in_kernel_ms"] / mine, 1)
        figures["peers"][target.extension].update(summary)
    return figures


def rows(figures: dict[str, Any]) -> list[Row]:
    """Items 1 and 8 of the issue."""
    mine = figures["collet_nb"]
    out = [
        Row(
            section="1 load",
            metric="%load_ext collet_nb, median (fastest) in kernel; request→idle",
            value=f"{mine['in_kernel_ms']:.0f} ({mine['in_kernel_ms_min']:.0f}) ms; "
            f"{mine['request_to_idle_ms']:.0f} ms",
            target=f"≤{TARGET_MS:.0f} ms",
            met=at_most(mine["in_kernel_ms"], TARGET_MS),
        )
    ]
    rss = [f"collet_nb +{mine['rss_delta_mb']:.1f} MB"]
    for extension, peer in figures["peers"].items():
        want = SPEEDUPS[extension]
        if "skipped" in peer:
            out.append(
                Row(
                    section="1 load",
                    metric=f"vs %load_ext {extension}",
                    value=f"skipped: {peer['skipped']}",
                    target=f"≥{want:.0f}× faster",
                )
            )
            continue
        out.append(
            Row(
                section="1 load",
                metric=f"vs %load_ext {extension} ({peer['label']})",
                value=f"{peer['in_kernel_ms']:.0f} ms: {peer['speedup']:.1f}× faster",
                target=f"≥{want:.0f}× faster",
                met=at_least(peer["speedup"], want),
            )
        )
        rss.append(f"{extension} +{peer['rss_delta_mb']:.1f} MB")
    out.append(
        Row(
            section="8 memory",
            metric="kernel RSS growth from %load_ext",
            value="; ".join(rss),
        )
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", type=int, default=7)
    parser.add_argument("--no-peers", action="store_true", help="collet_nb only")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = measure(kernels=args.kernels, peers=not args.no_peers)
    from bench.report import table

    print(table(rows(figures)))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
