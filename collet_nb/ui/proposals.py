"""Cells the agent proposes to the person (``propose_cell``, and ``notebook_insert`` without a
front end): each is checked against the existing variables, offered to every connected sidebar,
and otherwise inserted (``set_next_input``) below the next cell the person runs, one per run.

A background task cannot insert a cell through the execute reply of a cell that already
finished, so proposals wait here. Until it is delivered, a proposal is the agent's to change
(``notebook_edit`` of ``p1`` without a front end) and to run in the kernel (``notebook_run``);
a proposal the agent ran says so in the cell it becomes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, TypedDict

from collet_nb.core.cellcheck import CellCheck
from collet_nb.errors import ToolError

log = logging.getLogger("collet_nb")

PROPOSE = "propose_cell"


@dataclass(frozen=True, kw_only=True)
class Proposal:
    """A cell proposed to the user.

    Attributes:
        id: ``p1``, ``p2`` … in the order proposed.
        code: the code as the model wrote it.
        check: what it would do to the existing variables.
        ran: whether the agent ran it in the kernel (``notebook_run`` without a front end).
    """

    id: str
    code: str
    check: CellCheck
    ran: bool = False

    @property
    def warnings(self) -> tuple[str, ...]:
        """The lines to show beside the code."""
        return self.check.warnings()

    def cell_text(self) -> str:
        """The cell as inserted: a comment header (origin and warnings), then the code."""
        if self.ran:
            first = (
                f"# proposed by collet ({self.id}), which ran it in the kernel already: run it "
                "again only if you mean to"
            )
        else:
            first = f"# proposed by collet ({self.id}): read it, then run it if it is right"
        header = [first, *(f"# {line}" for line in self.warnings)]
        return "\n".join(header) + "\n" + self.code


class ProposeCellMessage(TypedDict):
    """Kernel → sidebar: insert this proposal as a cell (``protocol_version`` added on send)."""

    type: Literal["propose_cell"]
    id: str
    code: str
    warnings: list[str]


SidebarSender = Callable[[ProposeCellMessage], bool]
"""Offers a proposal to a sidebar; returns True when a sidebar took it (and will insert it)."""


class Proposals:
    """The proposals of one shell: those waiting for delivery, and every one made (by id).

    Args:
        shell: the ``InteractiveShell`` (its ``set_next_input`` and payloads).
        check: what a cell's code would do to the existing variables.
        max_pending: proposals that may wait for delivery at once.
    """

    def __init__(self, shell: Any, *, check: Callable[[str], CellCheck], max_pending: int) -> None:
        self.shell = shell
        self.check = check
        self.max_pending = max_pending
        self._pending: list[Proposal] = []
        self._made: dict[str, Proposal] = {}
        self._sidebars: list[SidebarSender] = []
        self._count = 0

    @property
    def pending(self) -> tuple[Proposal, ...]:
        """Proposals waiting for the next cell the user runs, oldest first."""
        return tuple(self._pending)

    def clear(self) -> None:
        """Drop the waiting proposals."""
        self._pending.clear()

    def add_sidebar(self, sender: SidebarSender) -> Callable[[], None]:
        """Offer every new proposal to ``sender`` too; returns the function that stops it."""
        self._sidebars.append(sender)
        return lambda: self._sidebars.remove(sender) if sender in self._sidebars else None

    def get(self, proposal_id: str) -> Proposal | None:
        """The proposal ``proposal_id`` (waiting or delivered), as it is now."""
        for proposal in self._pending:
            if proposal.id == proposal_id:
                return proposal
        return self._made.get(proposal_id)

    def _checked(self, code: str, *, tool: str) -> CellCheck:
        if not code.strip():
            raise ToolError("the code is empty; send the cell's code", tool=tool)
        check = self.check(code)
        if check.syntax_error is not None:
            raise ToolError(
                f"the code does not parse ({check.syntax_error}); nothing was proposed: fix "
                "it and propose it again",
                tool=tool,
            )
        return check

    def propose(self, code: str) -> Proposal:
        """Put ``code`` in front of the user as a new cell.

        It goes to every sidebar; unless one took it, it waits to be inserted below the next
        cell the user runs.

        Raises:
            ToolError: when the code does not parse, is empty, or too many proposals wait.
        """
        check = self._checked(code, tool=PROPOSE)
        if len(self._pending) >= self.max_pending:
            raise ToolError(
                f"{len(self._pending)} proposed cells already wait for the user to run a cell; "
                "wait for them (say so in your answer) before proposing more",
                tool=PROPOSE,
            )
        self._count += 1
        proposal = Proposal(id=f"p{self._count}", code=code, check=check)
        self._made[proposal.id] = proposal
        message: ProposeCellMessage = {
            "type": "propose_cell",
            "id": proposal.id,
            "code": code,
            "warnings": list(proposal.warnings),
        }
        taken = False
        for sender in tuple(self._sidebars):
            try:
                taken = sender(message) or taken
            except Exception:  # a broken sidebar must not lose the proposal
                log.exception("collet: sidebar sender failed")
        if not taken:
            self._pending.append(proposal)
        return proposal

    def waiting(self, proposal_id: str, *, tool: str) -> Proposal:
        """The proposal ``proposal_id`` if it still waits for delivery.

        Raises:
            ToolError: no such proposal, or it is in the notebook already.
        """
        proposal = self.get(proposal_id)
        if proposal is None:
            made = ", ".join(self._made) or "none yet"
            raise ToolError(f"there is no proposed cell {proposal_id!r} (made: {made})", tool=tool)
        if proposal not in self._pending:
            raise ToolError(
                f"proposal {proposal_id} is in the notebook already, where it is the user's: "
                "propose the corrected code as a new cell instead",
                tool=tool,
            )
        return proposal

    def change(self, proposal_id: str, code: str, *, tool: str) -> Proposal:
        """Replace the code of a proposal that still waits for delivery.

        Raises:
            ToolError: no such waiting proposal, or the code does not parse.
        """
        old = self.waiting(proposal_id, tool=tool)
        new = replace(old, code=code, check=self._checked(code, tool=tool))
        self._replace(old, new)
        return new

    def mark_ran(self, proposal: Proposal) -> None:
        """The agent ran ``proposal`` in the kernel: the cell it becomes says so."""
        current = self.get(proposal.id)
        if current is not None and not current.ran:
            self._replace(current, replace(current, ran=True))

    def _replace(self, old: Proposal, new: Proposal) -> None:
        self._made[new.id] = new
        if old in self._pending:
            self._pending[self._pending.index(old)] = new

    def deliver(self, _result: Any = None) -> None:
        """``post_run_cell``: insert the oldest waiting proposal below the cell that just ran."""
        if not self._pending:
            return
        manager = getattr(self.shell, "payload_manager", None)
        if manager is not None and any(
            payload.get("source") == "set_next_input" for payload in manager.read_payload()
        ):
            return  # the cell set its own next input (%load …): ours waits for the next run
        proposal = self._pending.pop(0)
        try:
            self.shell.set_next_input(proposal.cell_text(), replace=False)
        except Exception:  # keep it for the next run rather than lose it
            log.exception("collet: could not insert proposal %s", proposal.id)
            self._pending.insert(0, proposal)
