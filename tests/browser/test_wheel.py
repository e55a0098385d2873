"""The wheel ships the prebuilt sidebar: installed in a fresh venv with no Node.js on the PATH,
JupyterLab lists it as enabled, and its files are in the wheel exactly once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.browser.lab import ROOT

pytestmark = pytest.mark.slow

DATA = "share/jupyter/labextensions/collet-nb"


def run(cmd: list[str], *, env: dict[str, str] | None = None, timeout: float) -> str:
    done = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{cmd} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def test_the_wheel_installed_without_node_shows_the_sidebar_extension_enabled(tmp_path: Path):
    if not (ROOT / "collet_nb" / "labextension" / "package.json").exists():
        pytest.fail("the sidebar is not built: run scripts/setup.sh (it needs Node.js and npm)")
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        timeout=300,
    )
    (wheel,) = tmp_path.glob("collet_nb-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.endswith(f"{DATA}/package.json") for n in names)
    assert any(n.endswith(f"{DATA}/install.json") for n in names)
    assert any(n.endswith("/static/style.js") and DATA in n for n in names)
    assert not [n for n in names if n.startswith("collet_nb/labextension/")]  # not twice

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], timeout=120)
    bin_dir = venv / "bin"
    # Only the venv on the PATH: no node, no npm, nothing from the dev environment.
    env = {
        "PATH": str(bin_dir),
        "HOME": str(tmp_path / "home"),
        **{k: v for k, v in os.environ.items() if k.startswith("PIP_")},
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    assert shutil.which("node", path=env["PATH"]) is None
    assert shutil.which("npm", path=env["PATH"]) is None
    run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)], env=env, timeout=600)

    listing = run(
        [str(bin_dir / "python"), "-m", "jupyter", "labextension", "list"], env=env, timeout=120
    )
    line = next((ln for ln in listing.splitlines() if "collet-nb" in ln), "")
    assert "enabled" in line, listing
    assert "OK" in line, listing
    assert "(python, collet_nb)" in line, listing  # from install.json
    assert str(venv / "share" / "jupyter" / "labextensions") in listing
