"""The golden fixtures the TypeScript tests read are what the runtime sends today."""

import os

import pytest

from tests.support.golden import FIXTURES, SCENARIOS, dumps, record


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_golden_fixture_matches_a_real_run(name, tmp_path):
    made = dumps(record(name, tmp_path))
    path = FIXTURES / f"{name}.json"
    if os.environ.get("COLLET_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(made, encoding="utf-8")
    assert path.is_file(), f"{path} is missing: run with COLLET_UPDATE_GOLDEN=1"
    assert path.read_text(encoding="utf-8") == made, (
        f"{path.name} differs from what the runtime sends: if the change is meant, run "
        "`COLLET_UPDATE_GOLDEN=1 .venv/bin/pytest tests/ui/test_golden.py` and make the "
        "TypeScript model follow (labextension/test)"
    )


def test_the_fixtures_show_every_status_a_message_can_have():
    seen = set()
    for path in FIXTURES.glob("*.json"):
        text = path.read_text(encoding="utf-8")
        seen |= {s for s in ("awaiting_approval", "awaiting_plan", "failed", "cancelled") if
                 f'"status": "{s}"' in text}  # fmt: skip
    assert seen == {"awaiting_approval", "awaiting_plan", "failed", "cancelled"}
