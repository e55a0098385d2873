"""The headless policy: what policy.toml may fix, and how its lists and budget decide."""

import pytest

from collet_nb.core.kinds import ApprovalMode
from collet_nb.core.policy import Policy, parse_policy
from collet_nb.errors import ConfigError


def test_an_empty_policy_fixes_nothing():
    policy = parse_policy({}, source="p.toml")
    assert policy.approval is None
    assert not policy.denies("bash")
    assert not policy.allows("file_read")
    assert not policy.over_budget(10**9)


def test_deny_wins_over_allow_and_patterns_match_whole_names():
    policy = parse_policy(
        {"allow": ["file_*", "mcp__time__*"], "deny": ["file_write", "bash"]}, source="p.toml"
    )
    assert policy.allows("file_read")
    assert not policy.allows("file_write")  # denied, so never allowed
    assert policy.denies("file_write")
    assert policy.allows("mcp__time__get_current_time")
    assert not policy.allows("mcp__timer__x")
    assert not policy.denies("bash_helper")  # "bash" is the whole name, not a prefix


def test_the_cost_budget_is_reached_at_its_value_in_usd():
    policy = parse_policy({"cost_budget": 2.5}, source="p.toml")
    assert not policy.over_cost(2.49)
    assert policy.over_cost(2.5)
    assert not Policy().over_cost(1e9)


def test_the_budget_is_reached_at_its_value():
    policy = parse_policy({"token_budget": 1000}, source="p.toml")
    assert not policy.over_budget(999)
    assert policy.over_budget(1000)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"aproval": "manual"}, "aproval"),
        ({"approval": "sometimes"}, None),
        ({"allow": "file_read"}, "allow"),
        ({"deny": [1]}, "deny"),
        ({"deny": [""]}, "deny"),
        ({"token_budget": "lots"}, "token_budget"),
        ({"token_budget": 0}, "token_budget"),
        ({"token_budget": True}, None),
        ({"cost_budget": "5 dollars"}, "cost_budget"),
        ({"cost_budget": 0}, "cost_budget"),
    ],
)
def test_a_bad_policy_says_which_key_and_file(data, key):
    with pytest.raises(ConfigError) as info:
        parse_policy(data, source="class/policy.toml")
    assert "policy.toml" in str(info.value) or "approval" in str(info.value)
    if key is not None:
        assert info.value.key == key


def test_the_projects_policy_goes_on_top_and_forbidden_stays_forbidden():
    user = Policy(approval=ApprovalMode.AUTO, deny=("bash",), token_budget=10, source="home")
    project = Policy(approval=ApprovalMode.MANUAL, deny=("mcp__*",), source="project")
    both = user.merged(project)
    assert both.approval is ApprovalMode.MANUAL
    assert both.denies("bash")
    assert both.denies("mcp__git__commit")
    assert both.token_budget == 10
    assert both.source == "home, project"
