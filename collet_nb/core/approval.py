"""Which tool calls ask the user first: a plain predicate over the mode, the tool and the
session's "allow for session" cache (docs/design.md, "Tools the model sees"). Scope refusals
are separate: they hold in every mode.
"""

from __future__ import annotations

from collections.abc import Collection

from collet_nb.core.chat import ToolSpec
from collet_nb.core.kinds import ApprovalMode


def needs_approval(*, mode: ApprovalMode, spec: ToolSpec, session_allowed: Collection[str]) -> bool:
    """Whether a call of ``spec`` must wait for Allow / Deny.

    ``yolo`` never asks; a tool allowed for the session never asks again; ``manual`` asks for
    everything else; ``auto`` asks for everything that is not read-only (writes, ``bash``,
    ``propose_cell``, MCP tools not annotated read-only).
    """
    if mode is ApprovalMode.YOLO or spec.name in session_allowed:
        return False
    if mode is ApprovalMode.MANUAL:
        return True
    return not spec.read_only
