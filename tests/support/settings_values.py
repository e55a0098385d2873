"""A valid value, other than the default, for any declared setting (derived from its spec),
in the three shapes users give it: an environment string, a TOML value, a ``c.Collet`` value."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Any

from collet_nb.core.settings import SettingSpec


@dataclass(frozen=True)
class Sample:
    env: str  # what COLLET_<NAME> holds
    toml: str  # the right-hand side of ``name = …`` in config.toml
    trait: Any  # what ``c.Collet.<name> = …`` assigns
    expected: Any  # the field of the loaded Settings


def sample(spec: SettingSpec) -> Sample:
    default = spec.default.value if isinstance(spec.default, Enum) else spec.default
    if spec.choices:
        choice = next(c for c in spec.choices if c != default)
        expected = spec.type(choice) if issubclass(spec.type, Enum) else choice
        return Sample(choice, json.dumps(choice), choice, expected)
    if spec.type is int:
        number = default + 2
        return Sample(str(number), str(number), number, number)
    if spec.type is float:
        value = default * 2 + 0.5
        return Sample(repr(value), repr(value), value, value)
    assert spec.type is str, spec
    text = f"x-{spec.name}"  # relative: for ``home``, run from a scratch directory
    return Sample(text, json.dumps(text), text, text)
