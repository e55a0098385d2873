"""``c.Collet.*`` configuration through traitlets (ipython_config.py / jupyter config).

The traits are not declared here: one is made for each setting declared in
``collet_nb.core.settings`` (its name, type and help), so every setting can be set this way.
A secret's trait (the API key) never shows its value, not even in an error.
"""

from __future__ import annotations

import types
from typing import Any

from traitlets import Float, Int, TraitError, TraitType, Unicode
from traitlets.config import Configurable

from collet_nb.core.settings import SECRETS, SETTINGS, SettingSpec


class Secret(Unicode):
    """A string trait whose errors and command-line parsing never echo the value."""

    info_text = "a string (a secret: its value is never shown)"

    def validate(self, obj: Any, value: Any) -> str:
        if isinstance(value, str):
            return value
        raise TraitError(
            f"The {self.name!r} trait of {type(obj).__name__} expects a string, "
            f"not {type(value).__name__} (the value is a secret: not shown)"
        )

    def from_string(self, s: str) -> str | None:
        # As Unicode's, but silent: its warning about surrounding quotes quotes the value, and
        # a key is no path to expand ~ in.
        if self.allow_none and s == "None":
            return None
        if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
            return s[1:-1]
        return s


def trait_help(spec: SettingSpec) -> str:
    """A setting's help as ``--help-all`` shows it: plain text, its choices, its variable."""
    text = spec.help.replace("`", "")
    if spec.choices:
        text += f" ({' | '.join(spec.choices)})"
    unit = ", in seconds" if spec.unit == "s" else ""
    return f"{text}{unit}; ${spec.env} overrides it"


def _trait(spec: SettingSpec) -> TraitType[Any, Any]:
    """The trait of one setting: unset (None) by default, so only what is set overrides."""
    kind: type[TraitType[Any, Any]]
    if spec.secret:
        kind = Secret
    elif spec.type is int:
        kind = Int
    elif spec.type is float:
        kind = Float
    else:  # str and the enums: the config adapter parses and checks them
        kind = Unicode
    return kind(None, allow_none=True, help=trait_help(spec)).tag(config=True)


def _body(namespace: dict[str, Any]) -> None:
    namespace["__module__"] = __name__
    namespace["__doc__"] = (
        "collet_nb settings; each one mirrors a COLLET_* variable (the environment wins)."
    )
    namespace.update({spec.name: _trait(spec) for spec in SETTINGS})


Collet: type[Configurable] = types.new_class("Collet", (Configurable,), exec_body=_body)
"""The ``c.Collet`` section: one trait per setting of ``collet_nb.core.settings.SETTINGS``."""


class Overrides(dict[str, Any]):
    """The ``c.Collet.*`` values set: a dict whose repr masks the secrets."""

    def __repr__(self) -> str:
        shown = {k: ("***" if k in SECRETS else v) for k, v in self.items()}
        return f"Overrides({shown!r})"


def traitlet_overrides(config: Any) -> dict[str, Any]:
    """The ``c.Collet.*`` values set in ``config`` (unset traits are left out)."""
    collet = Collet(config=config)
    return Overrides(
        (name, getattr(collet, name))
        for name in collet.trait_names(config=True)
        if getattr(collet, name) is not None
    )
