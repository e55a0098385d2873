"""``c.Collet.*``: one trait per declared setting (derived, not listed), each one reaching the
Settings; the API key's trait never shows its value."""

import warnings

import pytest
from traitlets import Float, Int, TraitError, Unicode
from traitlets.config import Config

from collet_nb.adapters.config import load_settings
from collet_nb.core.settings import SETTINGS
from collet_nb.ui.traits import Collet, Secret, traitlet_overrides
from tests.support.settings_values import sample

EVERY = pytest.mark.parametrize("spec", SETTINGS, ids=lambda spec: spec.name)
KEY = "sk-trait-secret-0123456789"


def config(**values):
    c = Config()
    for name, value in values.items():
        setattr(c.Collet, name, value)
    return c


def test_there_is_one_configurable_trait_per_declared_setting():
    assert Collet.__name__ == "Collet"
    assert set(Collet.class_trait_names(config=True)) == {spec.name for spec in SETTINGS}
    # Those the hand-written list lacked:
    assert {"api_key", "max_retries", "request_timeout", "demo_pace"} <= set(
        Collet.class_trait_names(config=True)
    )


@EVERY
def test_each_trait_has_the_settings_kind_and_help(spec):
    trait = Collet.class_traits()[spec.name]
    kind = Secret if spec.secret else {int: Int, float: Float}.get(spec.type, Unicode)
    assert type(trait) is kind
    assert trait.default_value is None
    assert spec.env in trait.help
    assert "`" not in trait.help


def test_nothing_set_overrides_nothing():
    assert traitlet_overrides(Config()) == {}


@EVERY
def test_every_setting_is_reachable_through_c_collet(tmp_path, monkeypatch, spec):
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.chdir(tmp_path)
    value = sample(spec)
    overrides = traitlet_overrides(config(**{spec.name: value.trait}))
    assert overrides == {spec.name: value.trait}
    s = load_settings(project_dir=tmp_path, env={}, overrides=overrides)
    assert getattr(s, spec.name) == value.expected


def test_the_environment_still_wins_over_c_collet(tmp_path):
    overrides = traitlet_overrides(config(max_retries=3, request_timeout=5.0, demo_pace=0.5))
    env = {"COLLET_HOME": str(tmp_path), "COLLET_MAX_RETRIES": "4"}
    s = load_settings(project_dir=tmp_path, env=env, overrides=overrides)
    assert (s.max_retries, s.request_timeout, s.demo_pace) == (4, 5.0, 0.5)


def test_the_api_key_set_through_c_collet_is_used_and_never_shown(tmp_path):
    overrides = traitlet_overrides(config(api_key=KEY, model="m"))
    assert overrides["api_key"] == KEY
    for text in (repr(overrides), str(overrides), f"{overrides}"):
        assert KEY not in text
        assert "'model': 'm'" in text
    s = load_settings(project_dir=tmp_path, env={"COLLET_HOME": str(tmp_path)}, overrides=overrides)
    assert (s.provider, s.api_key) == ("openai", KEY)
    assert KEY not in repr(s)


@pytest.mark.parametrize("bad", [12345678901234, b"sk-bytes-secret", ["sk-list-secret"]])
def test_a_wrong_api_key_value_is_refused_without_echoing_it(bad):
    with pytest.raises(TraitError) as info:
        traitlet_overrides(config(api_key=bad))
    message = str(info.value)
    assert "api_key" in message
    assert "secret" in message
    for shown in ("12345678901234", "sk-bytes-secret", "sk-list-secret"):
        assert shown not in message


def test_the_api_key_from_the_command_line_is_read_as_unicode_reads_it_but_not_echoed():
    trait = Collet.class_traits()["api_key"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Unicode warns about the quotes, quoting the value
        for quoted in (f"'{KEY}'", f'"{KEY}"', KEY):
            assert trait.from_string(quoted) == KEY
        assert trait.from_string("~/key") == "~/key"  # a key, not a path
    assert trait.from_string("None") is None
