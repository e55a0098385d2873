"""A real JupyterLab server for browser tests: its own port, dirs and settings, always stopped.

``Lab.start`` runs ``jupyter lab`` on 127.0.0.1 (no token, the news toast off, the offline demo
model) with the project dir as its root; ``stop`` shuts it down through the REST API, then
its process group, then any kernel it left (found by the lab's private runtime dir).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# JupyterLab answers in ≈1.7 s here; a cold start on a busy 2-core machine takes longer.
START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def notebook_json(*sources: str) -> str:
    """A minimal nbformat-4 notebook with one code cell per source (or one empty cell)."""
    cells = [
        {"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": src, "outputs": [],
         "execution_count": None}
        for i, src in enumerate(sources or ("",))
    ]  # fmt: skip
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return json.dumps(
        {"cells": cells, "metadata": {"kernelspec": kernelspec}, "nbformat": 4,
         "nbformat_minor": 5}
    )  # fmt: skip


@dataclass
class Lab:
    """One running JupyterLab."""

    base: Path
    project: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    stopped: bool = field(default=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def runtime_dir(self) -> Path:
        return self.base / "runtime"

    @classmethod
    def start(
        cls, base: Path, *, env: dict[str, str] | None = None, python: str = sys.executable
    ) -> Lab:
        """Start JupyterLab with its dirs under ``base`` and the project in ``base/project``
        (with the Python of another environment: ``python``)."""
        project = base / "project"
        settings = base / "settings" / "@jupyterlab" / "apputils-extension"
        for d in (project, settings, base / "workspaces", base / "runtime", base / "config"):
            d.mkdir(parents=True, exist_ok=True)
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
        port = free_port()
        lab_env = {
            **os.environ,
            "COLLET_PROVIDER": "demo",
            "COLLET_HOME": str(base / "collet-home"),
            "COLLET_DEMO_PACE": "0.05",
            "JUPYTER_CONFIG_DIR": str(base / "config"),
            "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
            "JUPYTER_DATA_DIR": str(base / "data"),
            "IPYTHONDIR": str(base / "ipython"),
            "PYTHONPATH": str(ROOT),
            **(env or {}),
        }
        for key in ("COLLET_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "COLLET_BASE_URL"):
            lab_env.pop(key, None)
        log_path = base / "lab.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    # Another environment's Python runs JupyterLab as a module: its bin folder
                    # has no jupyter-lab script of its own.
                    *([sys.executable, "-m", "jupyter", "lab"] if python == sys.executable
                      else [python, "-m", "jupyterlab"]),
                    "--no-browser", "--allow-root",
                    "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
                    "--ServerApp.port_retries=0", "--IdentityProvider.token=",
                    "--ServerApp.password=", f"--ServerApp.root_dir={project}",
                    "--LabApp.expose_app_in_browser=True",
                    # Notebook 7 (/notebooks/…) reads its own trait: without it, no jupyterapp.
                    "--JupyterNotebookApp.expose_app_in_browser=True",
                    f"--LabApp.workspaces_dir={base / 'workspaces'}",
                    f"--LabApp.user_settings_dir={base / 'settings'}",
                    # Loopback only, no token: the REST shutdown at teardown needs no XSRF.
                    "--ServerApp.disable_check_xsrf=True",
                ],
                cwd=project,
                env=lab_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stop() can end it and nothing else
            )  # fmt: skip
        lab = cls(base=base, project=project, port=port, process=process, log_path=log_path)
        try:
            lab._wait_ready()
        except BaseException:
            lab.stop()
            raise
        return lab

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited at start-up:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)  # polling a port that is not open yet: nothing to wait on
        raise TimeoutError(f"jupyter lab did not answer in {START_TIMEOUT} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's log."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def write_notebook(self, name: str, *sources: str) -> str:
        """Create ``name`` in the project dir; return its path for ``/lab/tree/``."""
        (self.project / name).write_text(notebook_json(*sources))
        return name

    def stop(self) -> None:
        """Shut the server and its kernels down; kill whatever is left of them."""
        if self.stopped:
            return
        self.stopped = True
        if self.process.poll() is None:
            with contextlib.suppress(OSError, urllib.error.URLError):
                request = urllib.request.Request(f"{self.url}/api/shutdown", method="POST")
                urllib.request.urlopen(request, timeout=5).close()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGTERM)
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._signal_group(signal.SIGKILL)
                    self.process.wait(timeout=5)
        for pid in self.kernel_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def kernel_pids(self) -> list[int]:
        """Kernels of this lab still alive (their connection file is in our runtime dir)."""
        marker = str(self.runtime_dir).encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if marker in cmdline and int(entry.name) != self.process.pid:
                pids.append(int(entry.name))
        return pids
