"""README.md's table of settings is the one scripts/settings_table.py makes from the declarations
in collet_nb/core/settings.py (its ``--check``), and docs/design.md names the same settings."""

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from collet_nb.core.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[1]


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "settings_table", ROOT / "scripts/settings_table.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


settings_table = _load_script()


def readme_rows(text: str) -> dict[str, str]:
    """The rows of the README's settings table, by the variable they document."""
    inside = text.split(settings_table.BEGIN, 1)[1].split(settings_table.END, 1)[0]
    return {
        m.group(1): line
        for line in inside.splitlines()
        if (m := re.match(r"\| `(COLLET_[A-Z_]+)` \|", line))
    }


def test_the_readme_table_is_current():
    """If this fails: `.venv/bin/python scripts/settings_table.py` rewrites the table."""
    assert settings_table.main(["--check"]) == 0


def test_the_readme_documents_every_setting_with_its_key_and_default():
    rows = readme_rows((ROOT / "README.md").read_text(encoding="utf-8"))
    assert list(rows) == [spec.env for spec in SETTINGS]
    assert {"COLLET_REQUEST_TIMEOUT", "COLLET_MAX_RETRIES", "COLLET_DEMO_PACE"} <= set(rows)
    for spec in SETTINGS:
        assert f"| `{spec.name}` |" in rows[spec.env]
        assert f"| {spec.shown.replace('|', chr(92) + '|')} |" in rows[spec.env]
    assert "| `COLLET_MAX_RETRIES` | `max_retries` | 4 |" in rows["COLLET_MAX_RETRIES"]
    assert (
        "| `COLLET_REQUEST_TIMEOUT` | `request_timeout` | 30 s |" in rows["COLLET_REQUEST_TIMEOUT"]
    )


def test_the_design_names_exactly_the_declared_settings():
    design = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    section = design.split("### Configuration", 1)[1].split("\n### ", 1)[0]
    assert set(re.findall(r"`(COLLET_[A-Z_]+)`", section)) == {spec.env for spec in SETTINGS}


@pytest.fixture
def readme(tmp_path, monkeypatch):
    """A copy of the README the script works on."""
    copy = tmp_path / "README.md"
    copy.write_text((ROOT / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(settings_table, "README", copy)
    return copy


def test_a_table_missing_a_setting_is_stale_and_the_script_rewrites_it(readme, capsys):
    text = readme.read_text(encoding="utf-8")
    row = readme_rows(text)["COLLET_REQUEST_TIMEOUT"]
    readme.write_text(text.replace(row + "\n", ""), encoding="utf-8")
    assert settings_table.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "not current" in err
    assert f"+{row}" in err
    assert "COLLET_REQUEST_TIMEOUT" not in readme.read_text(
        encoding="utf-8"
    )  # --check writes nothing
    assert settings_table.main([]) == 0
    assert readme.read_text(encoding="utf-8") == text
    assert settings_table.main(["--check"]) == 0


def test_a_hand_edited_default_is_stale(readme, capsys):
    text = readme.read_text(encoding="utf-8")
    edited = text.replace("| `max_retries` | 4 |", "| `max_retries` | 5 |")
    assert edited != text
    readme.write_text(edited, encoding="utf-8")
    assert settings_table.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "-| `COLLET_MAX_RETRIES` | `max_retries` | 5 |" in err
    assert "+| `COLLET_MAX_RETRIES` | `max_retries` | 4 |" in err


def test_a_readme_without_the_markers_is_an_error(readme, capsys):
    readme.write_text("# collet_nb\n", encoding="utf-8")
    assert settings_table.main(["--check"]) == 2
    assert settings_table.BEGIN in capsys.readouterr().err
