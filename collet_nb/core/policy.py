"""The headless policy of a class or a grading run (``.collet/policy.toml``): an approval mode
nobody can switch, tools that never ask, tools that are never offered, and a token budget per
session that pauses the agent and asks before it goes over. Pure: the file is read elsewhere.

    approval = "manual"              # fixed: /approval cannot change it
    allow = ["file_read", "search"]  # run without asking (glob patterns: "mcp__time__*")
    deny = ["bash", "mcp__*"]        # never offered; a call anyway is refused
    token_budget = 200000            # prompt + completion tokens per session
    cost_budget = 2.50               # USD per session (requests with a known price)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from collet_nb.core.kinds import ApprovalMode
from collet_nb.errors import ConfigError

KEYS = ("approval", "allow", "deny", "token_budget", "cost_budget")


@dataclass(frozen=True, kw_only=True)
class Policy:
    """What a policy file fixes (an empty policy fixes nothing).

    Attributes:
        approval: the approval mode in force, or None when the user may choose.
        allow: tool-name patterns that run without asking, whatever the mode.
        deny: tool-name patterns never offered to the model (deny wins over allow).
        token_budget: tokens a session may use before the agent must ask to go on.
        cost_budget: USD a session may spend (on requests whose price is known) before the
            agent must ask to go on.
        source: the file(s) it came from, for messages.
    """

    approval: ApprovalMode | None = None
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    token_budget: int | None = None
    cost_budget: float | None = None
    source: str = ""

    def denies(self, tool: str) -> bool:
        """Whether ``tool`` is forbidden."""
        return any(fnmatchcase(tool, pattern) for pattern in self.deny)

    def allows(self, tool: str) -> bool:
        """Whether ``tool`` runs without asking (and is not forbidden)."""
        return not self.denies(tool) and any(fnmatchcase(tool, p) for p in self.allow)

    def over_budget(self, used: int) -> bool:
        """Whether ``used`` tokens reach the budget (never without one)."""
        return self.token_budget is not None and used >= self.token_budget

    def over_cost(self, spent: float) -> bool:
        """Whether ``spent`` USD reach the cost budget (never without one)."""
        return self.cost_budget is not None and spent >= self.cost_budget

    def merged(self, later: Policy) -> Policy:
        """This policy with ``later``'s fixed values on top (the project's over the user's)."""
        return Policy(
            approval=later.approval or self.approval,
            allow=later.allow or self.allow,
            deny=(*self.deny, *later.deny),  # a forbidden tool stays forbidden
            token_budget=later.token_budget or self.token_budget,
            cost_budget=later.cost_budget or self.cost_budget,
            source=", ".join(s for s in (self.source, later.source) if s),
        )


def parse_policy(data: Mapping[str, Any], *, source: str) -> Policy:
    """Check a policy table (parsed TOML).

    Raises:
        ConfigError: naming the file, the key and what is expected.
    """
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise ConfigError(
            f"{source}: unknown key(s) {', '.join(unknown)}; a policy sets {', '.join(KEYS)}",
            key=unknown[0],
        )
    approval = data.get("approval")
    mode = None if approval is None else ApprovalMode.parse(str(approval), setting=source)
    budget = data.get("token_budget")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int)):
        raise ConfigError(f"{source}: token_budget must be a whole number", key="token_budget")
    if budget is not None and budget < 1:
        raise ConfigError(f"{source}: token_budget must be at least 1", key="token_budget")
    cost = data.get("cost_budget")
    if cost is not None and (isinstance(cost, bool) or not isinstance(cost, int | float)):
        raise ConfigError(f"{source}: cost_budget must be a number of USD", key="cost_budget")
    if cost is not None and not cost > 0:
        raise ConfigError(f"{source}: cost_budget must be more than 0", key="cost_budget")
    return Policy(
        approval=mode,
        allow=_patterns(data, "allow", source),
        deny=_patterns(data, "deny", source),
        token_budget=budget,
        cost_budget=None if cost is None else float(cost),
        source=source,
    )


def _patterns(data: Mapping[str, Any], key: str, source: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(
            f'{source}: {key} must be a list of tool names or patterns, e.g. ["file_read"]',
            key=key,
        )
    return tuple(value)
