"""A message's transcript says what it did to the notebook (issue 20): each cell it inserted,
edited, ran or deleted, in order, from what the notebook tools really told the model, and the
run's approval as the code with the names it would overwrite."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from collet_nb.ui.notebook_tools import NotebookTools
from collet_nb.ui.transcript import Transcript, notebook_change
from tests.support.fake_front import notebook


def events(mid: str, *calls: tuple[str, dict[str, Any], str, bool]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        {"type": "message_state", "message_id": mid, "state": "running", "text": "explore it"}
    ]
    for n, (name, arguments, content, is_error) in enumerate(calls):
        found.append({"type": "tool_call", "message_id": mid, "call_id": f"c{n}", "name": name,
                      "arguments": json.dumps(arguments), "preview": {}})  # fmt: skip
        found.append({"type": "tool_result", "message_id": mid, "call_id": f"c{n}", "name": name,
                      "content": content, "is_error": is_error, "duration_s": 0.1})  # fmt: skip
    found.append({"type": "message_status", "message_id": mid, "status": "answered"})
    return found


def test_the_transcript_lists_the_cells_a_message_inserted_ran_edited_and_deleted_in_order():
    nb, front = notebook(("c0", "import pandas as pd"), ("c1", "old = 1"))
    front.runs["new2"] = [{"output_type": "error", "text": "KeyError: 'amount'\nTraceback …"}]

    async def texts() -> list[tuple[str, dict[str, Any], str, bool]]:
        await nb.read(None)
        inserted = await nb.insert(0, "df['amount'].sum()", "code")
        ran, _ = await nb.run(1, timeout=5)
        edited = await nb.edit(1, "df['total'].sum()")
        deleted = await nb.delete(2)
        return [
            ("notebook_read", {}, "a.ipynb: 2 cells", False),
            ("notebook_insert", {"after": 0}, inserted, False),
            ("notebook_run", {"cell": 1}, ran, False),
            ("notebook_edit", {"cell": 1}, edited, False),
            ("notebook_edit", {"cell": 1}, "the user changed cell 1 (id new2)", True),
            ("notebook_delete", {"cell": 2}, deleted, False),
        ]

    t = Transcript()
    for event in events("m2", *asyncio.run(texts())):
        t.add(event)
    md = t.markdown()
    assert (
        "> **m2 in the notebook**: inserted a code cell at index 1 (id new2); ran cell 1 (id "
        "new2) as [7] (raised KeyError); edited cell 1 (id new2); deleted cell 2 (id c1). The "
        "cells it inserted or edited carry its mark (cell metadata `collet_nb`: m2)."
    ) in md
    assert md.index("m2 in the notebook") < md.index("*m2 answered*")


def test_without_a_front_end_the_transcript_says_what_was_proposed_and_run_outside_it(shell):
    tools = NotebookTools(shell)

    async def texts() -> list[str]:
        said = []
        for name, arguments in (
            ("notebook_insert", {"source": "x = 1"}),
            ("notebook_run", {"cell": "p1"}),
            ("notebook_edit", {"cell": "p1", "source": "1 / 0"}),
            ("notebook_run", {"cell": "p1"}),
        ):
            result = await tools.call(_call(name), arguments)
            said.append(notebook_change(name, result.content))
        return said

    assert asyncio.run(texts()) == [
        "proposed p1",
        "ran proposal p1 in the kernel, outside the notebook",
        "changed proposal p1",
        "ran proposal p1 in the kernel, outside the notebook (raised ZeroDivisionError)",
    ]
    assert notebook_change("notebook_read", "Inserted nothing (id x)") is None
    assert notebook_change("notebook_run", "cell 3 did not run") is None


def test_a_run_shows_at_its_approval_as_the_code_with_what_it_would_overwrite():
    preview = {"kind": "notebook_run", "path": "a.ipynb cell 2 (id x)", "code": "df = 1",
               "language": "python", "warnings": ["would overwrite: df"], "timeout": 60,
               "problem": ""}  # fmt: skip
    t = Transcript()
    t.add({"type": "message_state", "message_id": "m1", "state": "running", "text": "go"})
    t.add({"type": "tool_call", "message_id": "m1", "call_id": "r", "name": "notebook_run",
           "arguments": "{}", "preview": preview})  # fmt: skip
    t.add({"type": "tool_call", "message_id": "m1", "call_id": "s", "name": "notebook_run",
           "arguments": "{}", "preview": {**preview, "problem": "not read"}})  # fmt: skip
    md = t.markdown()
    assert (
        "**notebook_run** `a.ipynb cell 2 (id x)` — would overwrite: df\n\n```python\ndf = 1\n```"
    ) in md
    assert "**notebook_run** `a.ipynb cell 2 (id x)` — will fail: not read" in md


def _call(name: str) -> Any:
    from collet_nb.core.chat import ToolCall

    return ToolCall(id="t", name=name)
