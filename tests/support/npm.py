"""npm packages the tests run (configurable-http-proxy for the JupyterHub test), installed once
into the tests' npm cache: ``$COLLET_TEST_NPM_CACHE``, else ``~/.cache/collet-test-npm`` (the
folder server-everything goes to as well)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

NPM_CACHE = Path(
    os.environ.get("COLLET_TEST_NPM_CACHE", Path.home() / ".cache" / "collet-test-npm")
)


def npm_bin(package: str, command: str) -> Path:
    """The installed ``node_modules/.bin/<command>`` of ``package`` (``name@version``),
    installed from npm into the cache if it is missing.

    Raises:
        pytest's Failed: when Node.js or npm is missing or the install fails, saying what to do.
    """

    name, _, version = package.rpartition("@")
    entry = NPM_CACHE / "node_modules" / ".bin" / command
    manifest = NPM_CACHE / "node_modules" / name / "package.json"
    if entry.exists() and manifest.is_file() and f'"version": "{version}"' in manifest.read_text():
        return entry
    return npm_install(package, entry)


def npm_install(package: str, entry: Path) -> Path:
    """Install ``package`` (``name@version``) from npm into the cache and return ``entry``, a
    file it brings.

    Raises:
        pytest's Failed: when Node.js or npm is missing or the install fails, saying what to do.
    """
    import pytest

    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.fail(
            f"{package} needs Node.js >= 20 and npm on the PATH (apt-get install nodejs npm)"
        )
    NPM_CACHE.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(NPM_CACHE), package],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0 or not entry.exists():
        pytest.fail(f"npm install {package} into {NPM_CACHE} failed: {done.stderr[-2000:]}")
    return entry
