"""The sidebar's TypeScript: strict, lint-clean, no `any`, no console.log; its protocol mirrors
collet_nb/ui/protocol.py and the event types of collet_nb/core/events.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from collet_nb.core.events import EVENT_TYPES
from collet_nb.ui.protocol import COMM_TARGET, PROTOCOL_VERSION
from tests.browser.lab import ROOT

EXT = ROOT / "labextension"
SOURCES = sorted((EXT / "src").rglob("*.ts"))  # render/ too
PROTOCOL_TS = (EXT / "src" / "protocol.ts").read_text()


def test_protocol_ts_speaks_the_kernels_version_and_target():
    assert f"export const PROTOCOL_VERSION = {PROTOCOL_VERSION};" in PROTOCOL_TS
    assert f"export const COMM_TARGET = '{COMM_TARGET}';" in PROTOCOL_TS


def test_protocol_ts_types_every_event_the_runtime_emits():
    typed = set(re.findall(r"^\s+type: '([a-z_]+)';$", PROTOCOL_TS, flags=re.MULTILINE))
    assert set(EVENT_TYPES) <= typed, sorted(set(EVENT_TYPES) - typed)
    for name in EVENT_TYPES:
        assert f"case '{name}':" in PROTOCOL_TS, f"readEvent() does not read {name!r}"


def test_the_sources_have_no_any_and_no_console_log():
    assert SOURCES
    for path in SOURCES:
        text = path.read_text()
        assert not re.search(r"[:<,]\s*any\b|\bas any\b", text), path.name
        assert "console.log" not in text, path.name


@pytest.mark.slow
def test_the_sources_pass_strict_tsc_and_eslint():
    if not (EXT / "node_modules").is_dir() or shutil.which("npx") is None:
        pytest.fail("labextension/node_modules is missing: run scripts/setup.sh with npm")
    for cmd in (["npx", "tsc", "--noEmit"], ["npx", "eslint", "src"]):
        done = subprocess.run(
            cmd, cwd=EXT, capture_output=True, text=True, timeout=180, check=False
        )
        assert done.returncode == 0, f"{' '.join(cmd)}:\n{done.stdout}\n{done.stderr}"
