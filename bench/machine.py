"""The machine a bench ran on: CPU model, cores, RAM, OS, Python and the key packages."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from pathlib import Path

PACKAGES = (
    "collet_nb",
    "ipykernel",
    "ipython",
    "ipywidgets",
    "anywidget",
    "jupyter_client",
    "httpx2",
    "mcp",
    "bm25s",
)


def _proc_field(path: str, key: str) -> str:
    try:
        text = Path(path).read_text()
    except OSError:
        return ""
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == key:
            return value.strip()
    return ""


def describe() -> dict[str, str]:
    """The machine and its software, as strings (for the JSON and the machine line)."""
    total_kb = _proc_field("/proc/meminfo", "MemTotal").split()
    ram = f"{int(total_kb[0]) / 2**20:.0f} GiB" if total_kb else "?"
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    return {
        # Other work on the machine skews every figure: the 1-minute load average says how much.
        "load_average": f"{os.getloadavg()[0]:.1f}",
        "cpu": _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "?",
        "cores": str(os.cpu_count()),
        "ram": ram,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        **versions,
    }


def line(machine: dict[str, str]) -> str:
    """One line describing ``machine`` (as :func:`describe` returns it)."""
    packages = ", ".join(f"{name} {machine[name]}" for name in PACKAGES if name in machine)
    return (
        f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['ram']} RAM, "
        f"{machine['os']}, Python {machine['python']}; {packages}; "
        f"load average {machine['load_average']} when the run started"
    )
