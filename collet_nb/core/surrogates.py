"""Lone surrogates: code points a str can hold but UTF-8 cannot, so no journal, comm or HTTP
body can carry them (one in a printed line wedges a kernel's output). Refused at the input
edges, replaced in what tools return.
"""

from __future__ import annotations

from collet_nb.errors import ConfigError


def check_well_formed(text: str, *, what: str) -> None:
    """Raise unless ``text`` is valid Unicode.

    Raises:
        ConfigError: naming the first lone surrogate and where it is.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ConfigError(
            f"{what} holds a lone surrogate ({text[exc.start]!r} at character {exc.start}), "
            "which cannot be stored or shown; remove it (it usually comes from a bad paste)"
        ) from None


def well_formed(text: str) -> str:
    """``text`` with every lone surrogate replaced by ``?`` (the same object when clean)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text
