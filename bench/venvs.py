"""The peers' bench venvs under ``bench/.venvs/``: made once from PyPI, reused on later runs.

A venv counts as ready when its marker file names the same requirements; a failed install
leaves a note (the last lines of pip's output) instead of a venv, and the bench goes on.

    .venv/bin/python bench/venvs.py          # create (or check) every peer venv
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENVS = HERE / ".venvs"
# Long enough for a cold install of a few hundred MB of wheels; a hung pip must not hang us.
INSTALL_TIMEOUT = 900


@dataclass(frozen=True, kw_only=True)
class Peer:
    """A peer's magics, installed into its own venv.

    Attributes:
        label: how the table names it.
        extension: what ``%load_ext`` loads.
        folder: the venv's folder name under ``bench/.venvs/``.
        requirements: what pip installs (the peer, plus ipykernel to run a kernel).
        package: the distribution whose version the report shows.
    """

    label: str
    extension: str
    folder: str
    requirements: tuple[str, ...]
    package: str


PEERS = (
    Peer(
        label="jupyter-ai-magics 2.31",
        extension="jupyter_ai_magics",
        folder="jupyter-ai-magics-2.31",
        requirements=("jupyter-ai-magics>=2.31,<2.32", "ipykernel"),
        package="jupyter-ai-magics",
    ),
    # jupyter-ai 3 ships its magics as the `magics` extra: exactly these two packages.
    Peer(
        label="jupyter-ai 3 magics",
        extension="jupyter_ai_magic_commands",
        folder="jupyter-ai-3",
        requirements=(
            "jupyter-ai-magic-commands>=0.0.4,<0.1",
            "jupyter-ai-litellm>=0.1,<0.2",
            "ipykernel",
        ),
        package="jupyter-ai-magic-commands",
    ),
)


@dataclass(frozen=True, kw_only=True)
class Venv:
    """The outcome of making one peer venv: its interpreter, or why there is none."""

    peer: Peer
    python: Path | None
    note: str = ""
    install_s: float = 0.0
    versions: dict[str, str] | None = None


def _marker(peer: Peer) -> str:
    return hashlib.sha256("\n".join(peer.requirements).encode()).hexdigest()[:16]


def _versions(python: Path, peer: Peer) -> dict[str, str]:
    names = [peer.package, "ipykernel", "ipython"]
    code = (
        "import json, importlib.metadata as m; "
        f"print(json.dumps({{n: m.version(n) for n in {names!r}}}))"
    )
    out = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    versions: dict[str, str] = json.loads(out.stdout)
    return versions


def ensure(peer: Peer, *, root: Path = VENVS, log: bool = True) -> Venv:
    """The peer's venv: reused when ready, else created and installed (minutes when cold)."""
    folder = root / peer.folder
    python = folder / "bin" / "python"
    marker = folder / ".bench-ready"
    if marker.is_file() and marker.read_text().strip() == _marker(peer) and python.exists():
        try:
            return Venv(peer=peer, python=python, versions=_versions(python, peer))
        except (subprocess.SubprocessError, OSError, ValueError):
            pass  # a broken venv (its interpreter moved, say): make it again
    if log:
        print(
            f"installing {peer.label} into {folder} (cached for later runs) …",
            file=sys.stderr,
            flush=True,
        )
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    steps = (
        [sys.executable, "-m", "venv", str(folder)],
        [str(python), "-m", "pip", "install", "-q", *peer.requirements],
    )
    for command in steps:
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            return Venv(peer=peer, python=None, note=f"install timed out ({INSTALL_TIMEOUT} s)")
        if done.returncode != 0:
            lines = [
                line
                for line in (done.stderr + done.stdout).splitlines()
                if line.strip() and not line.startswith("WARNING: Location")
            ]
            tail = " | ".join(lines[-3:]) or f"exit code {done.returncode}"
            return Venv(peer=peer, python=None, note=f"install failed: {tail}")
    marker.write_text(_marker(peer) + "\n")
    return Venv(
        peer=peer,
        python=python,
        install_s=time.perf_counter() - started,
        versions=_versions(python, peer),
    )


def main() -> None:
    for peer in PEERS:
        venv = ensure(peer)
        if venv.python is None:
            print(f"{peer.label}: {venv.note}")
        else:
            took = f" (installed in {venv.install_s:.0f} s)" if venv.install_s else " (cached)"
            print(f"{peer.label}: {venv.python}{took} {venv.versions}")


if __name__ == "__main__":
    main()
