import os
import sys
from pathlib import Path

import pytest

from collet_nb.adapters.config import (
    ENV_NAMES,
    load_policy,
    load_settings,
    setting_sources,
    system_dirs,
)
from collet_nb.core.kinds import ApprovalMode, WorkspaceScope
from collet_nb.core.settings import SETTINGS
from collet_nb.errors import ConfigError
from tests.support.settings_values import sample


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_with_no_key_and_no_base_url_the_demo_model_is_the_default(tmp_path):
    s = load_settings(project_dir=tmp_path, env={"COLLET_HOME": str(tmp_path / "h")})
    assert (s.provider, s.model, s.approval) == ("demo", "demo", ApprovalMode.AUTO)
    assert s.home == str(tmp_path / "h")


def test_later_sources_win_home_then_project_then_traitlets_then_env(tmp_path):
    home, project = tmp_path / "home", tmp_path / "proj"
    write(home / "config.toml", 'approval = "manual"\nmax_iterations = 10\nmodel = "a"\n')
    write(project / ".collet" / "config.toml", '[collet]\nmax_iterations = 20\nmodel = "b"\n')
    env = {"COLLET_HOME": str(home), "COLLET_MODEL": "d"}
    s = load_settings(project_dir=project, env=env, overrides={"model": "c", "workspace": "full"})
    assert s.approval is ApprovalMode.MANUAL
    assert s.max_iterations == 20
    assert s.workspace is WorkspaceScope.FULL
    assert s.model == "d"


def test_a_key_or_base_url_selects_a_real_provider_and_the_key_never_shows(tmp_path):
    env = {"COLLET_HOME": str(tmp_path), "OPENAI_API_KEY": "sk-secret-123"}
    s = load_settings(project_dir=tmp_path, env=env)
    assert (s.provider, s.api_key) == ("openai", "sk-secret-123")
    assert "sk-secret-123" not in repr(s)
    assert "sk-secret-123" not in str(s)
    a = load_settings(project_dir=tmp_path, env={"ANTHROPIC_API_KEY": "k", "COLLET_HOME": "/x"})
    assert a.provider == "anthropic"
    local = load_settings(
        project_dir=tmp_path, env={"COLLET_BASE_URL": "http://127.0.0.1:11434/v1"}
    )
    assert (local.provider, local.api_key) == ("openai", None)


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"COLLET_APPROVAL": "sometimes"}, "approval"),
        ({"COLLET_MAX_ITERATIONS": "many"}, "max_iterations"),
        ({"COLLET_PROVIDER": "gemini"}, "provider"),
        ({"COLLET_TOOL_TIMEOUT": "-1"}, "tool_timeout"),
    ],
)
def test_bad_values_name_the_setting_and_what_is_valid(tmp_path, env, key):
    with pytest.raises(ConfigError) as info:
        load_settings(project_dir=tmp_path, env={"COLLET_HOME": str(tmp_path), **env})
    assert info.value.key is not None
    assert key in info.value.key


def test_a_broken_config_file_says_which_file_to_fix(tmp_path):
    write(tmp_path / ".collet" / "config.toml", "approval = [unclosed\n")
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_settings(project_dir=tmp_path, env={"COLLET_HOME": str(tmp_path / "h")})
    assert info.value.key == str(tmp_path / ".collet" / "config.toml")


def test_an_unknown_setting_in_a_file_lists_the_valid_ones(tmp_path):
    write(tmp_path / ".collet" / "config.toml", "aproval = 'auto'\n")
    with pytest.raises(ConfigError, match=r"unknown setting 'aproval'.*approval"):
        load_settings(project_dir=tmp_path, env={"COLLET_HOME": str(tmp_path / "h")})


# Every declared setting is reachable from each source (ENV_NAMES and the TOML keys derive from
# the declarations in collet_nb/core/settings.py; the c.Collet traits are tested in tests/ui).

EVERY = pytest.mark.parametrize("spec", SETTINGS, ids=lambda spec: spec.name)


def test_the_environment_names_are_derived_from_the_declarations():
    assert {spec.env: spec.name for spec in SETTINGS} == ENV_NAMES
    assert {"COLLET_MAX_RETRIES", "COLLET_REQUEST_TIMEOUT", "COLLET_DEMO_PACE"} <= set(ENV_NAMES)


@EVERY
def test_every_setting_is_read_from_its_environment_variable(tmp_path, monkeypatch, spec):
    monkeypatch.chdir(tmp_path)
    value = sample(spec)
    env = {"COLLET_HOME": str(tmp_path / "h"), spec.env: value.env}
    assert getattr(load_settings(project_dir=tmp_path, env=env), spec.name) == value.expected


@pytest.fixture
def user_home(tmp_path, monkeypatch):
    """A scratch ``~`` and working directory, no COLLET_HOME: the default ``~/.collet``."""
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "user" / ".collet"


@EVERY
@pytest.mark.parametrize("where", ["home", "project", "project [collet]"])
def test_every_setting_is_read_from_config_toml(tmp_path, user_home, spec, where):
    value = sample(spec)
    project = tmp_path / "p"
    line = f"{spec.name} = {value.toml}\n"
    if where == "home":
        write(user_home / "config.toml", line)
    else:
        write(project / ".collet" / "config.toml", ("[collet]\n" if "[" in where else "") + line)
    s = load_settings(project_dir=project, env={})
    assert getattr(s, spec.name) == value.expected


@EVERY
def test_every_setting_is_read_from_the_traitlet_overrides(tmp_path, user_home, spec):
    value = sample(spec)
    s = load_settings(project_dir=tmp_path, env={}, overrides={spec.name: value.trait})
    assert getattr(s, spec.name) == value.expected


# ── the admin's system-wide files (COLLET_SYSTEM_DIRS stands in for /etc/collet and
# {sys.prefix}/etc/collet) ──


@pytest.fixture
def layers(tmp_path):
    """Two system folders, a COLLET_HOME and a project, and the environment naming them."""
    etc, prefix = tmp_path / "etc" / "collet", tmp_path / "prefix" / "etc" / "collet"
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir()
    env = {"COLLET_HOME": str(home), "COLLET_SYSTEM_DIRS": os.pathsep.join([str(etc), str(prefix)])}
    return etc, prefix, home, project, env


def test_without_the_variable_the_system_folders_are_etc_and_the_environments_prefix():
    assert system_dirs({}) == (Path("/etc/collet"), Path(sys.prefix) / "etc" / "collet")
    assert system_dirs({"COLLET_SYSTEM_DIRS": ""}) == ()


def test_config_layers_system_then_prefix_then_user_then_project(layers):
    etc, prefix, home, project, env = layers
    write(etc / "config.toml", 'model = "etc"\nbase_url = "http://etc/v1"\nmax_iterations = 5\n')
    write(prefix / "config.toml", 'model = "prefix"\nbase_url = "http://gateway:4000/v1"\n')
    write(home / "config.toml", 'model = "user"\n')
    write(project / ".collet" / "config.toml", "max_iterations = 9\n")
    s = load_settings(project_dir=project, env=env)
    # Mutation: reading the system files after the user's -> model "prefix".
    assert (s.model, s.base_url, s.max_iterations) == ("user", "http://gateway:4000/v1", 9)
    assert s.provider == "openai"  # an admin's base URL picks the provider, as anyone's does
    sources = setting_sources(project_dir=project, env={**env, "COLLET_API_KEY": "sk-x"})
    assert sources == {
        "model": str(home / "config.toml"),
        "base_url": str(prefix / "config.toml"),
        "max_iterations": str(project / ".collet" / "config.toml"),
        "api_key": "COLLET_API_KEY",
        "home": "COLLET_HOME",
    }
    assert "sk-x" not in repr(sources)
    # An admin default the user did not override stays in force.
    (home / "config.toml").unlink()
    assert load_settings(project_dir=project, env=env).model == "prefix"


def test_the_admins_policy_binds_the_users_and_the_projects(layers):
    etc, _prefix, home, project, env = layers
    write(etc / "policy.toml", 'approval = "manual"\ndeny = ["bash"]\ndaily_token_budget = 100\n')
    write(home / "policy.toml", 'approval = "yolo"\nallow = ["bash"]\ndaily_token_budget = 999\n')
    write(project / ".collet" / "policy.toml", 'deny = ["mcp__*"]\ntoken_budget = 50\n')
    policy = load_policy(project_dir=project, env=env)
    # Mutation: treating the system file as an ordinary layer -> approval yolo.
    assert policy.approval is ApprovalMode.MANUAL
    assert policy.denies("bash")
    assert policy.denies("mcp__x__y")
    assert not policy.allows("bash")
    assert policy.daily_token_budget == 100
    assert policy.token_budget == 50
    assert [layer.admin for layer in policy.layers] == [True, False, False]
    assert policy.origins["approval"] == str(etc / "policy.toml")


def test_a_broken_admin_policy_stops_the_session_and_says_whom_to_ask(layers):
    etc, _prefix, _home, project, env = layers
    write(etc / "policy.toml", "deny = bash\n")
    with pytest.raises(ConfigError) as info:
        load_policy(project_dir=project, env=env)
    assert info.value.key == str(etc / "policy.toml")
    assert "the admin's policy; ask them to fix it" in str(info.value)


def test_no_policy_file_anywhere_is_no_policy(layers):
    *_, project, env = layers
    assert load_policy(project_dir=project, env=env).describe() == []
