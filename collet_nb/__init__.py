"""collet_nb: a relentless, zero-drop coding-agent loop for Jupyter notebooks.

``%load_ext collet_nb`` registers the magics. Importing this package loads none of IPython,
ipywidgets, httpx2 or mcp: they are imported where they are used.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "load_ipython_extension", "status", "unload_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    """Called by ``%load_ext collet_nb``: magics, comm target, kernel hooks (idempotent)."""
    from collet_nb.ui.extension import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Called by ``%unload_ext collet_nb``: closes sessions, stops children, unregisters."""
    from collet_nb.ui.extension import unload

    unload(ipython)


def status() -> dict[str, Any]:
    """The status of this notebook's session (see docs/design.md for the keys).

    Raises:
        ColletError: when the extension is not loaded.
    """
    from collet_nb.errors import ConfigError
    from collet_nb.ui.extension import active

    extension = active()
    if extension is None:
        raise ConfigError("collet_nb is not loaded; run `%load_ext collet_nb` first")
    return extension.runner().status()
