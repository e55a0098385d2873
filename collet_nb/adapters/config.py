"""Loads Settings and the policy from their files, in layers (docs/design.md, Configuration):

    defaults < /etc/collet/config.toml < {sys.prefix}/etc/collet/config.toml
             < $COLLET_HOME/config.toml < <project>/.collet/config.toml < traitlets < environment

(slash commands apply later, at run time), and the policy of the same folders' ``policy.toml``:
the system-wide ones are the admin's, whose rules bind (``core/policy.py``). Secrets are read
but never echoed in errors.

``COLLET_SYSTEM_DIRS`` (folders joined by ``os.pathsep``) replaces the two system folders: for
tests, and for images that keep the admin's files elsewhere. It is read from the environment
only, never from a file: it says where the files are.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from collet_nb.core.policy import Policy, layered, parse_policy
from collet_nb.core.settings import DEFAULT_MODELS, SETTINGS, Settings, coerce
from collet_nb.errors import ConfigError

ENV_NAMES: dict[str, str] = {spec.env: spec.name for spec in SETTINGS}
"""Environment variable → setting, derived from the declarations in ``core/settings.py``
(a setting's ``config.toml`` key and ``c.Collet`` trait are its name)."""


CONFIG_FILE = "config.toml"
POLICY_FILE = "policy.toml"
SYSTEM_DIRS_ENV = "COLLET_SYSTEM_DIRS"
_HOME = next(spec for spec in SETTINGS if spec.name == "home")


def collet_home(env: Mapping[str, str]) -> Path:
    """The COLLET_HOME directory (default ``~/.collet``)."""
    return Path(env.get(_HOME.env) or _HOME.default).expanduser()


def system_dirs(env: Mapping[str, str]) -> tuple[Path, ...]:
    """The admin's folders, lowest first: ``/etc/collet`` and ``{sys.prefix}/etc/collet`` (the
    environment's, which a Hub image's admin controls), or those ``COLLET_SYSTEM_DIRS`` names
    (empty: none)."""
    raw = env.get(SYSTEM_DIRS_ENV)
    if raw is not None:
        return tuple(Path(p).expanduser() for p in raw.split(os.pathsep) if p)
    found = (Path("/etc/collet"), Path(sys.prefix) / "etc" / "collet")
    return tuple(dict.fromkeys(found))  # one folder when the prefix is /


def config_files(project_dir: Path, env: Mapping[str, str]) -> list[Path]:
    """Every config.toml that may hold settings, lowest first."""
    return [
        *(folder / CONFIG_FILE for folder in system_dirs(env)),
        collet_home(env) / CONFIG_FILE,
        project_dir / ".collet" / CONFIG_FILE,
    ]


def policy_files(project_dir: Path, env: Mapping[str, str]) -> list[tuple[Path, bool]]:
    """Every policy.toml that may hold rules, lowest first, each with whether it is an admin's
    (system-wide) file."""
    return [
        *((folder / POLICY_FILE, True) for folder in system_dirs(env)),
        (collet_home(env) / POLICY_FILE, False),
        (project_dir / ".collet" / POLICY_FILE, False),
    ]


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


def _merge(
    project_dir: Path, env: Mapping[str, str], overrides: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The merged raw settings, and where each one came from (a file, ``c.Collet``, a variable)."""
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    home = collet_home(env)
    for path in config_files(project_dir, env):
        for name, value in read_toml(path).items():
            merged[name] = coerce(name, value, source=str(path))
            sources[name] = str(path)
    for name, value in (overrides or {}).items():
        merged[name] = coerce(name, value, source="c.Collet")
        sources[name] = f"c.Collet.{name}"
    for var, name in ENV_NAMES.items():
        if env.get(var, "") != "":
            merged[name] = coerce(name, env[var], source=var)
            sources[name] = var
    merged["home"] = str(home if "home" not in merged else Path(merged["home"]).expanduser())
    _choose_provider(merged, env, sources)
    return merged, sources


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
    merged, _sources = _merge(project_dir, os.environ if env is None else env, overrides)
    return Settings(**merged)


def setting_sources(
    *,
    project_dir: Path,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Where each setting that is not at its default came from: a file's path,
    ``c.Collet.<name>`` or an environment variable (``/status``, ``/policy``).

    Raises:
        ConfigError: as ``load_settings`` does.
    """
    return _merge(project_dir, os.environ if env is None else env, overrides)[1]


def _choose_provider(
    merged: dict[str, Any], env: Mapping[str, str], sources: dict[str, str]
) -> None:
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
            sources["api_key"] = fallback
    merged.setdefault("model", DEFAULT_MODELS.get(provider, "demo"))


def load_policy(*, project_dir: Path, env: Mapping[str, str] | None = None) -> Policy:
    """The policy of the system-wide ``policy.toml`` files (the admin's: ``system_dirs``),
    ``$COLLET_HOME/policy.toml`` and ``<project>/.collet/policy.toml``, layered
    (``core.policy.layered``: what any of them forbids stays forbidden). No file: no policy.

    Raises:
        ConfigError: for an invalid file — a policy that cannot be read must not be ignored
            (that would lift what it forbids), so the session does not start until it is fixed.
    """
    env = os.environ if env is None else env
    layers = []
    for path, admin in policy_files(project_dir, env):
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            continue
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            whose = "the admin's policy; ask them to fix it" if admin else "fix it"
            raise ConfigError(
                f"{path} cannot be read ({exc}); {whose}: the session waits for a valid policy",
                key=str(path),
            ) from None
        layers.append(parse_policy(data, source=str(path), admin=admin))
    return layered(layers) if layers else Policy()
