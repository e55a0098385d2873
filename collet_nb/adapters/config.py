"""Loads Settings from the chain of docs/design.md: defaults < $COLLET_HOME/config.toml <
<project>/.collet/config.toml < traitlets < environment (slash commands apply later, at run
time). Secrets are read but never echoed in errors.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from collet_nb.core.policy import Policy, parse_policy
from collet_nb.core.settings import DEFAULT_MODELS, SETTINGS, Settings, coerce
from collet_nb.errors import ConfigError

ENV_NAMES: dict[str, str] = {spec.env: spec.name for spec in SETTINGS}
"""Environment variable → setting, derived from the declarations in ``core/settings.py``
(a setting's ``config.toml`` key and ``c.Collet`` trait are its name)."""


POLICY_FILE = "policy.toml"
_HOME = next(spec for spec in SETTINGS if spec.name == "home")


def collet_home(env: Mapping[str, str]) -> Path:
    """The COLLET_HOME directory (default ``~/.collet``)."""
    return Path(env.get(_HOME.env) or _HOME.default).expanduser()


def read_toml(path: Path) -> dict[str, Any]:
    """The settings table of a config.toml (empty when the file is absent).

    Raises:
        ConfigError: when the file is not valid TOML, with the line to fix.
    """
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}; fix or remove it", key=str(path)
        ) from None
    except OSError as exc:  # a directory, no permission
        raise ConfigError(f"cannot read {path}: {exc}; fix or remove it", key=str(path)) from None
    # Both a flat file and a [collet] table are accepted.
    table = data.get("collet", data)
    if not isinstance(table, dict):
        raise ConfigError(f"[collet] in {path} must be a table", key=str(path))
    return {k: v for k, v in table.items() if not isinstance(v, dict)}


def load_settings(
    *,
    project_dir: Path,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Merge the configuration chain into one Settings.

    Args:
        project_dir: the notebook's project directory (for ``.collet/config.toml``).
        env: the environment (default ``os.environ``).
        overrides: traitlets values (``c.Collet.*``), between the files and the environment.
    """
    env = os.environ if env is None else env
    merged: dict[str, Any] = {}
    home = collet_home(env)
    for path in (home / "config.toml", project_dir / ".collet" / "config.toml"):
        for name, value in read_toml(path).items():
            merged[name] = coerce(name, value, source=str(path))
    for name, value in (overrides or {}).items():
        merged[name] = coerce(name, value, source="c.Collet")
    for var, name in ENV_NAMES.items():
        if env.get(var, "") != "":
            merged[name] = coerce(name, env[var], source=var)
    merged["home"] = str(home if "home" not in merged else Path(merged["home"]).expanduser())
    _choose_provider(merged, env)
    return Settings(**merged)


def _choose_provider(merged: dict[str, Any], env: Mapping[str, str]) -> None:
    """Default the provider (demo unless a key or base URL is set), its key and its model."""
    if "provider" not in merged:
        if env.get("ANTHROPIC_API_KEY") and not (
            merged.get("api_key") or merged.get("base_url") or env.get("OPENAI_API_KEY")
        ):
            merged["provider"] = "anthropic"
        elif merged.get("api_key") or merged.get("base_url") or env.get("OPENAI_API_KEY"):
            merged["provider"] = "openai"
        else:
            merged["provider"] = "demo"
    provider = merged["provider"]
    if not merged.get("api_key"):
        fallback = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}.get(provider)
        if fallback and env.get(fallback):
            merged["api_key"] = env[fallback]
    merged.setdefault("model", DEFAULT_MODELS.get(provider, "demo"))


def load_policy(*, project_dir: Path, env: Mapping[str, str] | None = None) -> Policy:
    """The policy of ``$COLLET_HOME/policy.toml`` and ``<project>/.collet/policy.toml`` (the
    project's on top; a tool either forbids stays forbidden). No file: no policy.

    Raises:
        ConfigError: for an invalid file — a policy that cannot be read must not be ignored
            (that would lift what it forbids), so the session does not start until it is fixed.
    """
    env = os.environ if env is None else env
    policy = Policy()
    for path in (collet_home(env) / POLICY_FILE, project_dir / ".collet" / POLICY_FILE):
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            continue
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(
                f"{path} cannot be read ({exc}); fix it: the session waits for a valid policy",
                key=str(path),
            ) from None
        policy = policy.merged(parse_policy(data, source=str(path)))
    return policy
