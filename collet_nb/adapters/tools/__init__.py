"""The built-in tools the model sees (files, bash, search) and the workspace scope check."""

from __future__ import annotations

from collet_nb.adapters.tools.builtin import BuiltinTools
from collet_nb.adapters.tools.output import Limits
from collet_nb.adapters.tools.scope import Workspace, resolve_in_scope

__all__ = ["BuiltinTools", "Limits", "Workspace", "resolve_in_scope"]
