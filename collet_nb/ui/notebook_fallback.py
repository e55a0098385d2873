"""The notebook tools where no front end is connected (VS Code, nbclient, a console): each says
so to the model and does what the kernel alone can.

``notebook_read`` shows the kernel's history; ``notebook_insert`` of code becomes a proposal
(``p1``), which ``notebook_run`` may run in the kernel (its output captured into the message's
view) and ``notebook_edit`` may change while it waits to be delivered; an edit of a proposal
already delivered (below a cell the person ran: it is theirs now) becomes a new proposal. A
Markdown insert, an edit of anything else and every delete are refused: nothing is changed
behind the person's back.
"""

from __future__ import annotations

from collections.abc import Callable

from collet_nb.adapters.tools.files import unified_diff
from collet_nb.core.images import Image
from collet_nb.core.preview import Preview
from collet_nb.errors import ToolError
from collet_nb.ui.notebook_front import NO_FRONT_END, CellRef
from collet_nb.ui.notebook_run import refuse_agent_cell, run_in_kernel
from collet_nb.ui.notebook_specs import (
    NOTEBOOK_DELETE,
    NOTEBOOK_EDIT,
    NOTEBOOK_INSERT,
    NOTEBOOK_RUN,
)
from collet_nb.ui.proposals import Proposal, Proposals


def _lines(proposal: Proposal) -> str:
    return "".join(f"\n{line[0].upper()}{line[1:]}" for line in proposal.warnings)


class Fallback:
    """The notebook tools over the kernel alone.

    Args:
        shell: the ``InteractiveShell`` (a run executes in its namespace).
        proposals: the shell's proposals.
        history: the ``notebook_cells`` text (the cells the kernel ran).
        proposed: what the model reads of a new proposal.
    """

    def __init__(
        self,
        shell: object,
        proposals: Proposals,
        *,
        history: Callable[[], str],
        proposed: Callable[[Proposal], str],
    ) -> None:
        self.shell = shell
        self.proposals = proposals
        self.history = history
        self.proposed = proposed

    def read(self) -> str:
        """``notebook_read``: the kernel's history."""
        return (
            f"{NO_FRONT_END} Here instead are the cells this kernel ran (its history: cells "
            "never run and unsaved edits are missing; no cell ids, so no notebook_edit; cells "
            "you insert become proposals, which you can edit and run until they are in the "
            f"notebook):\n\n{self.history()}"
        )

    def edit(self, ref: CellRef, source: str) -> str:
        """``notebook_edit``: of a proposal (still waiting: changed; delivered: proposed anew),
        else refused.

        Raises:
            ToolError: anything but a proposal, or code that cannot be proposed.
        """
        old = self.proposals.get(ref) if isinstance(ref, str) else None
        if old is not None and old in self.proposals.pending:
            proposal = self.proposals.change(old.id, source, tool=NOTEBOOK_EDIT.name)
            return (
                f"{NO_FRONT_END} Changed the code of proposal {proposal.id} (id {proposal.id}), "
                f"which is not in the notebook yet; it has not run.{_lines(proposal)}"
            )
        if old is not None:
            new = self.proposals.propose(source)
            return (
                f"{NO_FRONT_END} Proposal {old.id} is in the notebook already (below a cell the "
                f"user ran: theirs now), so the corrected code was proposed as a new cell "
                f"instead: {new.id} (id {new.id}). {self.proposed(new)}"
            )
        raise ToolError(
            f"{NO_FRONT_END} Nothing was edited: propose the corrected code as a new cell with "
            "propose_cell instead.",
            tool=NOTEBOOK_EDIT.name,
        )

    def insert(self, source: str, cell_type: str) -> str:
        """``notebook_insert``: code becomes a proposal; Markdown is refused.

        Raises:
            ToolError: Markdown, or code that cannot be proposed.
        """
        if cell_type != "code":
            raise ToolError(
                f"{NO_FRONT_END} Nothing was inserted: only code can be proposed "
                "(propose_cell), and it appears below the next cell the user runs.",
                tool=NOTEBOOK_INSERT.name,
            )
        proposal = self.proposals.propose(source)
        return (
            f"{NO_FRONT_END} The code was proposed instead, as {proposal.id} (id {proposal.id}: "
            "notebook_edit and notebook_run take it until it is in the notebook). "
            f"{self.proposed(proposal)}"
        )

    def delete(self) -> str:
        """``notebook_delete``: always refused.

        Raises:
            ToolError: always (nothing is deleted without the front end).
        """
        raise ToolError(
            f"{NO_FRONT_END} Nothing was deleted: ask the user to delete the cell themselves if "
            "it should go.",
            tool=NOTEBOOK_DELETE.name,
        )

    def run_target(self, ref: CellRef) -> Proposal:
        """The proposal a run names.

        Raises:
            ToolError: anything else (only proposals can be run without a front end).
        """
        proposal = self.proposals.get(ref) if isinstance(ref, str) else None
        if proposal is None:
            raise ToolError(
                f"{NO_FRONT_END} Without it, only the cells you proposed (notebook_insert or "
                f"propose_cell: p1, p2 …) can be run, not {ref!r}: nothing was run.",
                tool=NOTEBOOK_RUN.name,
            )
        refuse_agent_cell(proposal.code, f"proposal {proposal.id}")
        return proposal

    async def run(self, ref: CellRef) -> tuple[str, tuple[Image, ...]]:
        """``notebook_run``: a proposal, in the kernel itself, its output captured."""
        proposal = self.run_target(ref)
        outcome = await run_in_kernel(self.shell, proposal.code, source=proposal.id)
        self.proposals.mark_ran(proposal)
        said = f"raised {outcome.error}" if outcome.error else "ran"
        cell = (
            "the proposal still arrives below the next cell the user runs, marked as run"
            if proposal.id in {p.id for p in self.proposals.pending}
            else "the proposal went below a cell the user ran, before this run"
        )
        head = (
            f"{NO_FRONT_END} So proposal {proposal.id} (id {proposal.id}) {said} in the kernel "
            "itself, from this turn: its output below is in this message's view only, not in "
            f"the notebook ({cell})."
        )
        return f"{head}\n{outcome.text()}", outcome.images

    def where(self, ref: CellRef) -> str:
        """How an approval names the proposal a run would run."""
        proposal = self.run_target(ref)
        return (
            f"proposal {proposal.id}: no notebook front end, so it runs in the kernel and its "
            "output shows in this message only"
        )

    def edit_preview(self, ref: CellRef, source: str) -> Preview | None:
        """The approval's preview of an edit of a waiting proposal (the diff against its code);
        None when ``ref`` names no proposal."""
        proposal = self.proposals.get(ref) if isinstance(ref, str) else None
        if proposal is None:
            return None
        where = (
            "(not in the notebook yet)"
            if proposal in self.proposals.pending
            else "(in the notebook already: the edit becomes a new proposal)"
        )
        return {
            "kind": "file_edit",
            "path": f"proposal {proposal.id} {where}",
            "language": "python",
            "diff": unified_diff(proposal.code, source, proposal.id)[:20_000],
            "replace_all": False,
            "problem": "",
        }

    def insert_preview(self, source: str, cell_type: str) -> Preview:
        """The approval's preview of an insert: the code, proposed (or refused: Markdown)."""
        code = cell_type != "markdown"
        return {
            "kind": "file_write",
            "path": (
                "a proposal (no notebook front end: it goes below the next cell the user runs)"
                if code
                else "nothing (no notebook front end: only code can be proposed)"
            ),
            "exists": False,
            "language": "python" if code else "markdown",
            "size": len(source.encode("utf-8", errors="replace")),
            "content": source[:20_000],
            "truncated": len(source) > 20_000,
            "diff": "",
        }
