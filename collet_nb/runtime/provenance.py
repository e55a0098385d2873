"""Which file set what: the lines ``/status`` and ``/policy`` add about where a session's
settings came from (a system-wide, user or project ``config.toml``, ``c.Collet``, a variable, a
slash command) and which policy file set each rule, with the day's use of a daily budget.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from collet_nb.adapters.config import policy_files
from collet_nb.core.policy import Policy, usd
from collet_nb.core.settings import Settings
from collet_nb.errors import ConfigError
from collet_nb.runtime.quota import QuotaProvider
from collet_nb.runtime.runner import SessionRunner

SHOWN_RULES = 3  # /status shows this many rules; /policy shows them all


def settings_line(
    runner: SessionRunner, sources: Mapping[str, str], loaded: Settings | None
) -> str:
    """``settings: base_url, model from /etc/collet/config.toml; api_key from COLLET_API_KEY``
    (a setting not named is at its default). ``loaded`` is what the files and environment
    give now: a setting the session holds otherwise was changed by the policy or a command."""
    where = dict(sources)
    policy = runner.gate.policy
    if loaded is not None:
        if policy.approval_for(loaded.approval) is not loaded.approval:
            key = "approval" if policy.approval is not None else "min_approval"
            where["approval"] = f"the policy ({policy.origins.get(key, policy.source)})"
        elif runner.settings.approval is not loaded.approval:
            where["approval"] = "/approval"
    if runner.session.model_override:
        where["model"] = "/model"
    by_source: dict[str, list[str]] = {}
    for name, source in where.items():
        by_source.setdefault(source, []).append(name)
    if not by_source:
        return "settings: all at their defaults"
    parts = [f"{', '.join(sorted(names))} from {source}" for source, names in by_source.items()]
    return "settings: " + "; ".join(parts)


def today_line(runner: SessionRunner) -> str | None:
    """The day's use against the daily budgets (None without one)."""
    policy = runner.gate.policy
    provider = runner.provider
    if not policy.daily or not isinstance(provider, QuotaProvider):
        return None
    try:
        tokens, spent = provider.today()
    except ConfigError as exc:
        return f"today: {exc}"
    parts = []
    if policy.daily_token_budget is not None:
        parts.append(f"{tokens:,} of {policy.daily_token_budget:,} tokens")
    if policy.daily_cost_budget is not None:
        parts.append(f"{usd(spent)} of {usd(policy.daily_cost_budget)}")
    origins = {
        policy.origins.get(key, policy.source)
        for key in ("daily_token_budget", "daily_cost_budget")
        if getattr(policy, key) is not None
    }
    return f"today: {' and '.join(parts)} (daily budget set by {', '.join(sorted(origins))})"


def policy_summary(policy: Policy) -> str:
    """The ``/status`` line: the first rules and the files, or that there is none."""
    rules = policy.describe()
    if not rules:
        return "policy: none"
    shown = "; ".join(rules[:SHOWN_RULES])
    more = len(rules) - SHOWN_RULES
    return f"policy: {shown}" + (f"; and {more} more (/policy)" if more > 0 else "")


def files_line(project_dir: Path, env: Mapping[str, str] | None = None) -> str:
    """Which policy files exist and which are the admin's, lowest first."""
    found = []
    looked = []
    for path, admin in policy_files(project_dir, os.environ if env is None else env):
        looked.append(str(path))
        if path.is_file():
            found.append(f"{path}{' (admin)' if admin else ''}")
    if not found:
        return f"no policy file: nothing is fixed (looked for {', '.join(looked)})"
    return "policy files, lowest first: " + ", ".join(found)


def policy_text(runner: SessionRunner, settings: str) -> str:
    """``/policy``: the files, every rule with its file, the day's use, the settings' sources."""
    policy = runner.gate.policy
    lines = [files_line(Path(runner.session.project_dir)), *policy.describe()]
    today = today_line(runner)
    if today is not None:
        lines.append(today)
    if isinstance(runner.provider, QuotaProvider) and (policy.token_cap or policy.cost_cap):
        lines.append(f"this session: {runner.provider.tokens:,} tokens")
    lines.append(settings)
    return "\n".join(lines)
