"""Each setting is declared once, as a field of Settings; SETTINGS and FIELD_TYPES derive
from it."""

import dataclasses

import pytest

from collet_nb.core.kinds import ApprovalMode, StreamingLevel, WorkspaceScope
from collet_nb.core.settings import FIELD_TYPES, SECRETS, SETTINGS, Settings, coerce
from tests.support.settings_values import sample


def test_every_field_of_settings_is_a_declared_setting_in_field_order():
    assert [spec.name for spec in SETTINGS] == [f.name for f in dataclasses.fields(Settings)]
    assert list(FIELD_TYPES) == [spec.name for spec in SETTINGS]
    for spec in SETTINGS:
        assert spec.env == f"COLLET_{spec.name.upper()}"
        assert spec.help.strip()
        assert "|" not in spec.help  # it goes into a Markdown table cell
        assert spec.shown


def test_types_come_from_the_annotations():
    assert FIELD_TYPES["provider"] is str
    assert FIELD_TYPES["base_url"] is str  # str | None
    assert FIELD_TYPES["api_key"] is str
    assert FIELD_TYPES["approval"] is ApprovalMode
    assert FIELD_TYPES["streaming"] is StreamingLevel
    assert FIELD_TYPES["workspace"] is WorkspaceScope
    assert FIELD_TYPES["max_retries"] is int
    assert FIELD_TYPES["request_timeout"] is float
    assert FIELD_TYPES["demo_pace"] is float
    by_name = {spec.name: spec for spec in SETTINGS}
    assert by_name["approval"].choices == ("yolo", "auto", "manual")
    assert by_name["provider"].choices == ("openai", "anthropic", "demo")
    assert by_name["session_timeout"].shown == "24 h"
    assert by_name["context_budget"].shown == "128,000"
    assert by_name["request_timeout"].shown == "30 s"


def test_the_defaults_are_the_declared_ones():
    defaults = Settings()
    for spec in SETTINGS:
        assert getattr(defaults, spec.name) == spec.default


def test_the_api_key_is_the_one_secret_and_never_shows():
    assert {"api_key"} == SECRETS
    s = Settings(api_key="sk-very-secret")
    for text in (repr(s), str(s), f"{s}", repr(s.replace(model="m"))):
        assert "sk-very-secret" not in text
        assert "api_key='***'" in text
    assert "api_key=None" in repr(Settings())
    assert "model='demo'" in repr(Settings())


@pytest.mark.parametrize("spec", SETTINGS, ids=lambda spec: spec.name)
def test_every_setting_coerces_its_raw_forms(spec):
    value = sample(spec)
    assert coerce(spec.name, value.env, source=spec.env) == value.expected
    assert coerce(spec.name, value.trait, source="c.Collet") == value.expected
