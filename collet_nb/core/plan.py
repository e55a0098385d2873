"""The architect's pending plan and its lifecycle: pending → approved | rejected | discarded."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from collet_nb.errors import IllegalTransition


class PlanState(StrEnum):
    """Where a plan is in its life."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    DISCARDED = "discarded"


PLAN_MOVES: dict[PlanState, frozenset[PlanState]] = {
    PlanState.PENDING: frozenset({PlanState.APPROVED, PlanState.REJECTED, PlanState.DISCARDED}),
    PlanState.APPROVED: frozenset(),
    PlanState.REJECTED: frozenset(),
    PlanState.DISCARDED: frozenset(),
}


@dataclass(frozen=True, kw_only=True)
class PendingPlan:
    """A plan produced by the architect phase, waiting for the user's approval.

    Attributes:
        plan: the plan text.
        message_id: the message whose turn produced it.
        state: where it is in its life.
    """

    plan: str
    message_id: str = ""
    state: PlanState = PlanState.PENDING

    def moved_to(self, state: PlanState) -> PendingPlan:
        """Return this plan in ``state`` (IllegalTransition if the table forbids it)."""
        if state not in PLAN_MOVES[self.state]:
            raise IllegalTransition(machine="plan", source=self.state.value, target=state.value)
        return replace(self, state=state)
