"""The notebook tools as the model sees them: ``notebook_read``, ``notebook_edit``,
``notebook_insert``, ``notebook_delete`` and ``notebook_run`` (their contract is in
docs/design.md, "Tools the model sees"; ``notebook_front`` performs them through the front end,
``notebook_tools`` falls back without one).
"""

from __future__ import annotations

from typing import Any

from collet_nb.core.chat import ToolSpec

NOTEBOOK_READ = ToolSpec(
    name="notebook_read",
    description=(
        "The open notebook as the user sees it now, unsaved edits and cells never run included: "
        "every cell's index, id, type, source and text outputs (images as their type and "
        "size). With `cells` (ids or indices), just those. Read before you edit: an edit "
        "applies to the cell as you last read it."
    ),
    parameters={
        "type": "object",
        "properties": {
            "cells": {
                "type": "array",
                "items": {"type": ["string", "integer"]},
                "description": "Cell ids or 0-based indices to show (default: every cell).",
            }
        },
        "additionalProperties": False,
    },
    read_only=True,
)


def _object(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    """A closed ``object`` schema of ``properties``."""
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _cell(description: str) -> dict[str, Any]:
    """The schema of an argument naming a cell (its id, or its index in the last read)."""
    return {"type": ["string", "integer"], "description": description}


NOTEBOOK_EDIT = ToolSpec(
    name="notebook_edit",
    description=(
        "Replace the whole source of one notebook cell (the user approves it, seeing the "
        "diff; it does not run the cell). `cell` is the cell's id from notebook_read (or its "
        "index in your last notebook_read). If the user changed that cell since you read it, "
        "the edit is refused: read it again and edit what is there now."
    ),
    parameters=_object(
        ["cell", "source"],
        cell=_cell("The cell's id (or its index in your last notebook_read)."),
        source={"type": "string", "description": "The cell's new source, complete."},
    ),
    read_only=False,
)

NOTEBOOK_INSERT = ToolSpec(
    name="notebook_insert",
    description=(
        "Insert a new cell into the notebook (the user approves it; it does not run). "
        "`after`: the id (or index in your last notebook_read) of the cell it goes below; "
        "without it, at the end. `type`: code (default) or markdown."
    ),
    parameters=_object(
        ["source"],
        after=_cell("The cell it goes below (default: at the end)."),
        source={"type": "string", "description": "The new cell's source."},
        type={"type": "string", "enum": ["code", "markdown"]},
    ),
    read_only=False,
)

NOTEBOOK_DELETE = ToolSpec(
    name="notebook_delete",
    description=(
        "Delete one notebook cell (the user approves it, seeing the source that goes). `cell` "
        "is the cell's id from notebook_read (or its index in your last notebook_read). If the "
        "user changed that cell since you read it, the delete is refused: read it again."
    ),
    parameters=_object(
        ["cell"],
        cell=_cell("The cell's id (or its index in your last notebook_read)."),
    ),
    read_only=False,
)

NOTEBOOK_RUN = ToolSpec(
    name="notebook_run",
    description=(
        "Run one code cell of the notebook as if the user ran it (the user approves it first, "
        "as for bash), wait for it, and get its outputs and error: the outputs land in the "
        "notebook. `cell` is the cell's id from notebook_read or notebook_insert (or its index "
        "in your last notebook_read); it runs as you last read it, so if the user changed it "
        "since, the run is refused. `timeout`: seconds to wait (default 60); a cell still "
        "running then goes on in the kernel: read its outputs later, do not run it again."
    ),
    parameters={
        "type": "object",
        "properties": {
            "cell": {
                "type": ["string", "integer"],
                "description": "The cell's id (or its index in your last notebook_read).",
            },
            "timeout": {
                "type": "number",
                "exclusiveMinimum": 0,
                "description": "Seconds to wait for the cell to finish (default 60).",
            },
        },
        "required": ["cell"],
        "additionalProperties": False,
    },
    read_only=False,
)

FRONT_SPECS = (NOTEBOOK_READ, NOTEBOOK_EDIT, NOTEBOOK_INSERT, NOTEBOOK_DELETE, NOTEBOOK_RUN)
