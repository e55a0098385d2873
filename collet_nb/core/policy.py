"""The policy of a class, a team or a grading run (``policy.toml``): an approval mode nobody can
switch, tools that never ask, tools that are never offered, the providers, base URLs and models
a session may use, and budgets. Pure: the files are found and read by the config adapter.

    approval = "manual"              # fixed: /approval cannot change it
    min_approval = "auto"            # a floor: nothing looser than auto (yolo is refused)
    allow = ["file_read", "search"]  # run without asking (glob patterns: "mcp__time__*")
    deny = ["bash", "mcp__*"]        # never offered; a call anyway is refused
    providers = ["openai"]           # the providers a session may use
    base_urls = ["http://gateway:4000/v1"]  # the endpoints (glob patterns)
    models = ["llama3*", "qwen*"]    # the models, /model and --model included
    token_budget = 200000            # prompt + completion tokens per session
    cost_budget = 2.50               # USD per session (requests with a known price)
    daily_token_budget = 1000000     # tokens per user per day, every session and kernel
    daily_cost_budget = 5.0          # USD per user per day

Files come in layers (``layered``): the admin's system-wide files first, then the user's, then
the project's. What any layer forbids stays forbidden: deny lists and allow-lists of providers,
base URLs and models add up, the approval floor is the strictest, daily budgets the lowest. An
admin's fixed mode, floor and budgets bind: a user's or project's policy cannot loosen them,
a user's ``allow`` list cannot skip an admin's approval rule, and an admin's per-session
budget stops the turn instead of asking the person whether to go on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Literal

from collet_nb.core.kinds import ApprovalMode
from collet_nb.errors import ConfigError

KEYS = (
    "approval",
    "min_approval",
    "allow",
    "deny",
    "providers",
    "base_urls",
    "models",
    "token_budget",
    "cost_budget",
    "daily_token_budget",
    "daily_cost_budget",
)

# How strict each mode is: a floor refuses anything below it.
STRICTNESS = {ApprovalMode.YOLO: 0, ApprovalMode.AUTO: 1, ApprovalMode.MANUAL: 2}

Listed = Literal["providers", "base_urls", "models"]
# What each allow-list is checked against, in messages.
LISTED_AS: dict[Listed, str] = {"providers": "provider", "base_urls": "base URL", "models": "model"}
# The setting a user changes when a list refuses it.
LISTED_SETTING: dict[Listed, str] = {
    "providers": "COLLET_PROVIDER",
    "base_urls": "COLLET_BASE_URL",
    "models": "COLLET_MODEL (or /model)",
}


@dataclass(frozen=True, kw_only=True)
class AllowList:
    """The values of one setting a policy file allows.

    Attributes:
        key: ``providers``, ``base_urls`` or ``models``.
        patterns: glob patterns; a value must match one.
        source: the file that set it.
    """

    key: Listed
    patterns: tuple[str, ...]
    source: str

    def admits(self, value: str) -> bool:
        """Whether ``value`` matches one of the patterns (a trailing ``/`` of a URL aside)."""
        if self.key == "base_urls":
            value = value.rstrip("/")
            return any(fnmatchcase(value, p.rstrip("/")) for p in self.patterns)
        return any(fnmatchcase(value, p) for p in self.patterns)


@dataclass(frozen=True, kw_only=True)
class Stop:
    """A hard limit reached (see ``Policy.stops``).

    Attributes:
        key: the policy key (``token_cap``, ``daily_cost_budget`` …).
        limit: ``token_budget`` or ``cost_budget``: what kind of budget (a GuardStop's limit).
        message: what was used of what, who set it, and what to do.
    """

    key: str
    limit: str
    message: str


@dataclass(frozen=True, kw_only=True)
class Policy:
    """What the policy files fix (an empty policy fixes nothing): one file, or the layers of
    several (``layered``).

    Attributes:
        approval: the approval mode in force, or None when the user may choose.
        min_approval: the loosest mode the user may choose (None: any).
        allow: tool-name patterns that run without asking, whatever the mode.
        deny: tool-name patterns never offered to the model (deny wins over allow).
        allowed: the allow-lists of providers, base URLs and models; a value must pass each.
        token_budget: tokens a session may use before the agent must ask to go on.
        cost_budget: USD a session may spend (on requests whose price is known) before the
            agent must ask to go on.
        token_cap: tokens a session may use, full stop (an admin's ``token_budget``).
        cost_cap: USD a session may spend, full stop (an admin's ``cost_budget``).
        daily_token_budget: tokens one user may use per day, across sessions and kernels.
        daily_cost_budget: USD one user may spend per day (requests with a known price).
        admin: whether this is an admin's file (a system-wide one), whose rules bind.
        source: the file(s) it came from, for messages.
        origins: for each single-valued key in force, the file that set it.
        layers: the files this policy was made of, in order (empty for a single file).
    """

    approval: ApprovalMode | None = None
    min_approval: ApprovalMode | None = None
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    allowed: tuple[AllowList, ...] = ()
    token_budget: int | None = None
    cost_budget: float | None = None
    token_cap: int | None = None
    cost_cap: float | None = None
    daily_token_budget: int | None = None
    daily_cost_budget: float | None = None
    admin: bool = False
    source: str = ""
    origins: Mapping[str, str] = field(default_factory=dict)
    layers: tuple[Policy, ...] = ()

    def denies(self, tool: str) -> bool:
        """Whether ``tool`` is forbidden."""
        return any(fnmatchcase(tool, pattern) for pattern in self.deny)

    def denied_by(self, tool: str) -> str:
        """The file whose ``deny`` list forbids ``tool`` (this policy's sources when none)."""
        for layer in self.layers:
            if layer.denies(tool):
                return layer.source
        return self.source

    def allows(self, tool: str) -> bool:
        """Whether ``tool`` runs without asking (and is not forbidden)."""
        return not self.denies(tool) and any(fnmatchcase(tool, p) for p in self.allow)

    def over_budget(self, used: int) -> bool:
        """Whether ``used`` tokens reach the budget (never without one)."""
        return self.token_budget is not None and used >= self.token_budget

    def over_cost(self, spent: float) -> bool:
        """Whether ``spent`` USD reach the cost budget (never without one)."""
        return self.cost_budget is not None and spent >= self.cost_budget

    # ── the approval mode ──

    def approval_for(self, wanted: ApprovalMode) -> ApprovalMode:
        """The mode in force when ``wanted`` is asked for: the fixed one, else ``wanted``
        raised to the floor."""
        if self.approval is not None:
            return self.approval
        if self.min_approval is not None and STRICTNESS[wanted] < STRICTNESS[self.min_approval]:
            return self.min_approval
        return wanted

    def refuses_approval(self, wanted: ApprovalMode) -> str | None:
        """Why ``/approval wanted`` is refused (None: it is not)."""
        if self.approval is not None and wanted is not self.approval:
            return (
                f"approval is fixed to {self.approval.value} by "
                f"{self.origins.get('approval', self.source)}"
            )
        floor = self.min_approval
        if floor is not None and STRICTNESS[wanted] < STRICTNESS[floor]:
            stricter = [m.value for m in ApprovalMode if STRICTNESS[m] >= STRICTNESS[floor]]
            return (
                f"approval {wanted.value} is looser than the floor {floor.value} set by "
                f"{self.origins.get('min_approval', self.source)}; choose "
                f"{' or '.join(stricter)}"
            )
        return None

    # ── providers, base URLs, models ──

    def refuses(self, key: Listed, value: str) -> str | None:
        """Why ``value`` of ``key`` (``providers``, ``base_urls``, ``models``) is refused, naming
        the file and what it allows (None: it is allowed)."""
        for allowed in self.allowed:
            if allowed.key == key and not allowed.admits(value):
                shown = repr(value) if value else "the provider's default"
                return (
                    f"{LISTED_AS[key]} {shown} is not allowed by {allowed.source} "
                    f"(allowed: {', '.join(allowed.patterns)}); set {LISTED_SETTING[key]} to "
                    "one of those"
                )
        return None

    def refuses_settings(self, provider: str, base_url: str | None, model: str) -> str | None:
        """Why a session with these settings may not start (None: it may). The offline demo
        model reaches no endpoint and no real model: only ``providers`` applies to it."""
        checks: list[tuple[Listed, str]] = [("providers", provider)]
        if provider != "demo":
            checks += [("base_urls", base_url or ""), ("models", model)]
        for key, value in checks:
            refusal = self.refuses(key, value)
            if refusal is not None:
                return refusal
        return None

    # ── hard limits ──

    @property
    def limits_requests(self) -> bool:
        """Whether each model request must be checked (a model list, a cap or a daily budget)."""
        return any(a.key == "models" for a in self.allowed) or any(
            v is not None
            for v in (
                self.token_cap,
                self.cost_cap,
                self.daily_token_budget,
                self.daily_cost_budget,
            )
        )

    @property
    def daily(self) -> bool:
        """Whether a daily budget is in force (so usage is kept in the user's ledger)."""
        return self.daily_token_budget is not None or self.daily_cost_budget is not None

    def stops(self, *, session: tuple[int, float], today: tuple[int, float]) -> Stop | None:
        """Why the next request may not go (None: it may), given the ``(tokens, USD)`` used by
        this session and by this user today. Unlike ``token_budget``, nobody can allow going
        over these: the request that crosses one still finishes, the next one is stopped."""
        checks = (
            ("token_cap", session[0], "tokens in this session"),
            ("cost_cap", session[1], "in this session"),
            ("daily_token_budget", today[0], "tokens today"),
            ("daily_cost_budget", today[1], "today"),
        )
        for key, used, what in checks:
            limit = getattr(self, key)
            if limit is None or used < limit:
                continue
            tokens = isinstance(limit, int)
            amount = f"{used:,} of {limit:,}" if tokens else f"{usd(used)} of {usd(limit)}"
            daily = key.startswith("daily")
            renews = "it renews at midnight (server time)" if daily else "/new starts afresh"
            return Stop(
                key=key,
                limit="token_budget" if tokens else "cost_budget",
                message=f"the {'daily' if daily else 'session'} budget is used up: {amount} "
                f"{what} (set by {self.origins.get(key, self.source)}); {renews}, or ask "
                "whoever runs this hub for more",
            )
        return None

    def describe(self) -> list[str]:
        """What this policy fixes and which file set each rule, one line each (``/policy``)."""
        lines = []
        of = self.origins
        if self.approval is not None:
            lines.append(
                f"approval {self.approval.value}: fixed by {of.get('approval', self.source)}"
            )
        if self.min_approval is not None:
            lines.append(
                f"approval at least {self.min_approval.value}: "
                f"{of.get('min_approval', self.source)}"
            )
        lines.extend(
            f"never offered: {', '.join(layer.deny)} ({layer.source})"
            for layer in self.layers or (self,)
            if layer.deny
        )
        if self.allow:
            lines.append(
                f"run without asking: {', '.join(self.allow)} ({of.get('allow', self.source)})"
            )
        lines.extend(
            f"{allowed.key.replace('_', ' ')} allowed: {', '.join(allowed.patterns)} "
            f"({allowed.source})"
            for allowed in self.allowed
        )
        budgets = (
            ("token_budget", "tokens per session; asks before going over"),
            ("cost_budget", "per session; asks before going over"),
            ("token_cap", "tokens per session; cannot be passed"),
            ("cost_cap", "per session; cannot be passed"),
            ("daily_token_budget", "tokens per user per day"),
            ("daily_cost_budget", "per user per day"),
        )
        for key, what in budgets:
            value = getattr(self, key)
            if value is not None:
                amount = f"{value:,}" if isinstance(value, int) else usd(value)
                lines.append(f"{amount} {what} ({of.get(key, self.source)})")
        return lines


def usd(value: float) -> str:
    """An amount of USD as people read it: $2.50, and the digits a tiny one needs."""
    if value == 0 or value >= 0.01:
        return f"${value:,.2f}"
    return f"${value:.6f}".rstrip("0")


def _stricter(a: ApprovalMode | None, b: ApprovalMode | None) -> ApprovalMode | None:
    if a is None or b is None:
        return a or b
    return a if STRICTNESS[a] >= STRICTNESS[b] else b


def layered(layers: Sequence[Policy]) -> Policy:
    """The policy in force from files read in order: admins' (``admin``), the user's, the
    project's. See the module docstring for how each key combines.
    """
    origins: dict[str, str] = {}
    users = [p for p in layers if not p.admin]
    admins = [p for p in layers if p.admin]

    def last(policies: Sequence[Policy], key: str) -> Any:
        for policy in reversed(policies):
            value = getattr(policy, key)
            if value:
                origins[key] = policy.source
                return value
        return None

    def lowest(key: str) -> Any:
        found = None
        for policy in layers:
            value = getattr(policy, key)
            if value is not None and (found is None or value < found):
                found, origins[key] = value, policy.source
        return found

    floor: ApprovalMode | None = None
    for policy in layers:
        stricter = _stricter(floor, policy.min_approval)
        if stricter is not floor:
            floor, origins["min_approval"] = stricter, policy.source
    approval = last(admins, "approval") or last(users, "approval")
    if approval is not None and floor is not None and STRICTNESS[approval] < STRICTNESS[floor]:
        approval, origins["approval"] = floor, origins["min_approval"]  # the floor holds
    # An admin's approval rule would be skipped by a user's allow list: only admins' count.
    bound = any(p.approval or p.min_approval for p in admins)
    allow = last(admins, "allow") if bound else last(layers, "allow")
    return Policy(
        approval=approval,
        min_approval=floor,
        allow=allow or (),
        deny=tuple(pattern for p in layers for pattern in p.deny),
        allowed=tuple(a for p in layers for a in p.allowed),
        token_budget=last(users, "token_budget"),
        cost_budget=last(users, "cost_budget"),
        token_cap=lowest("token_cap"),
        cost_cap=lowest("cost_cap"),
        daily_token_budget=lowest("daily_token_budget"),
        daily_cost_budget=lowest("daily_cost_budget"),
        admin=bool(admins),
        source=", ".join(p.source for p in layers if p.source),
        origins=origins,
        layers=tuple(layers),
    )


def parse_policy(data: Mapping[str, Any], *, source: str, admin: bool = False) -> Policy:
    """Check a policy table (parsed TOML); ``admin`` for a system-wide file, whose per-session
    budgets cannot be passed (``token_cap``, ``cost_cap``).

    Raises:
        ConfigError: naming the file, the key and what is expected.
    """
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise ConfigError(
            f"{source}: unknown key(s) {', '.join(unknown)}; a policy sets {', '.join(KEYS)}",
            key=unknown[0],
        )
    modes = {}
    for key in ("approval", "min_approval"):
        value = data.get(key)
        modes[key] = None if value is None else ApprovalMode.parse(str(value), setting=source)
    tokens = {key: _whole(data, key, source) for key in ("token_budget", "daily_token_budget")}
    usd = {key: _usd(data, key, source) for key in ("cost_budget", "daily_cost_budget")}
    allowed = tuple(
        AllowList(key=key, patterns=_patterns(data, key, source, what="values"), source=source)
        for key in LISTED_AS
        if key in data
    )
    for listed in allowed:
        if not listed.patterns:
            raise ConfigError(
                f"{source}: {listed.key} is empty, which would refuse every "
                f"{LISTED_AS[listed.key]}; list at least one or remove the key",
                key=listed.key,
            )
    session_tokens, session_usd = tokens["token_budget"], usd["cost_budget"]
    origins = {key: source for key in KEYS if data.get(key) is not None}
    if admin:
        for soft, hard in (("token_budget", "token_cap"), ("cost_budget", "cost_cap")):
            if soft in origins:
                origins[hard] = origins.pop(soft)
    return Policy(
        approval=modes["approval"],
        min_approval=modes["min_approval"],
        allow=_patterns(data, "allow", source),
        deny=_patterns(data, "deny", source),
        allowed=allowed,
        token_budget=None if admin else session_tokens,
        cost_budget=None if admin else session_usd,
        token_cap=session_tokens if admin else None,
        cost_cap=session_usd if admin else None,
        daily_token_budget=tokens["daily_token_budget"],
        daily_cost_budget=usd["daily_cost_budget"],
        admin=admin,
        source=source,
        origins=origins,
    )


def _whole(data: Mapping[str, Any], key: str, source: str) -> int | None:
    value = data.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{source}: {key} must be a whole number of tokens", key=key)
    if value is not None and value < 1:
        raise ConfigError(f"{source}: {key} must be at least 1", key=key)
    return value


def _usd(data: Mapping[str, Any], key: str, source: str) -> float | None:
    value = data.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ConfigError(f"{source}: {key} must be a number of USD", key=key)
    if value is not None and not value > 0:
        raise ConfigError(f"{source}: {key} must be more than 0", key=key)
    return None if value is None else float(value)


def _patterns(
    data: Mapping[str, Any], key: str, source: str, *, what: str = "tool names or patterns"
) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        example = '["file_read"]' if what.startswith("tool") else '["name-or-pattern*"]'
        raise ConfigError(f"{source}: {key} must be a list of {what}, e.g. {example}", key=key)
    return tuple(value)
