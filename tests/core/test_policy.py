"""The headless policy: what policy.toml may fix, and how its lists and budget decide."""

import tomllib

import pytest

from collet_nb.core.kinds import ApprovalMode
from collet_nb.core.policy import Policy, layered, parse_policy
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
    both = layered([user, project])
    assert both.approval is ApprovalMode.MANUAL
    assert both.denies("bash")
    assert both.denies("mcp__git__commit")
    assert both.token_budget == 10
    assert both.source == "home, project"


# ── the admin's system-wide files under the user's and the project's ──


def admin(text: str, source: str = "/etc/collet/policy.toml") -> Policy:
    return parse_policy(tomllib.loads(text), source=source, admin=True)


def mine(text: str, source: str = "~/.collet/policy.toml") -> Policy:
    return parse_policy(tomllib.loads(text), source=source)


def test_an_admins_fixed_mode_holds_against_a_users_and_a_projects_policy():
    policy = layered(
        [
            admin('approval = "manual"'),
            mine('approval = "yolo"'),
            mine('approval = "auto"', "proj/.collet/policy.toml"),
        ]
    )
    assert policy.approval is ApprovalMode.MANUAL
    assert policy.origins["approval"] == "/etc/collet/policy.toml"
    assert policy.approval_for(ApprovalMode.YOLO) is ApprovalMode.MANUAL
    refusal = policy.refuses_approval(ApprovalMode.YOLO)
    assert refusal is not None
    assert "fixed to manual by /etc/collet/policy.toml" in refusal


def test_the_approval_floor_is_the_strictest_and_a_looser_fixed_mode_is_raised_to_it():
    policy = layered([admin('min_approval = "auto"'), mine('approval = "yolo"')])
    assert policy.min_approval is ApprovalMode.AUTO
    assert policy.approval is ApprovalMode.AUTO  # the user's yolo cannot go below the floor
    floor = layered([admin('min_approval = "auto"')])
    assert floor.approval_for(ApprovalMode.YOLO) is ApprovalMode.AUTO
    assert floor.approval_for(ApprovalMode.MANUAL) is ApprovalMode.MANUAL  # stricter is fine
    assert floor.refuses_approval(ApprovalMode.MANUAL) is None
    refusal = floor.refuses_approval(ApprovalMode.YOLO)
    assert refusal is not None
    assert "looser than the floor auto set by /etc/collet/policy.toml" in refusal
    # A user may raise their own floor, never lower the admin's.
    assert layered([admin('min_approval = "auto"'), mine('min_approval = "yolo"')]).min_approval
    tighter = layered([admin('min_approval = "auto"'), mine('min_approval = "manual"')])
    assert tighter.min_approval is ApprovalMode.MANUAL


def test_forbids_add_up_across_layers_and_a_users_allow_cannot_skip_an_admins_approval():
    policy = layered(
        [
            admin('approval = "manual"\ndeny = ["bash"]\nallow = ["file_read"]'),
            mine('deny = ["mcp__*"]\nallow = ["bash", "file_write"]'),
        ]
    )
    assert policy.denies("bash")
    assert policy.denies("mcp__git__push")
    assert policy.denied_by("bash") == "/etc/collet/policy.toml"  # which file, for the model
    assert policy.denied_by("mcp__git__push") == "~/.collet/policy.toml"
    assert policy.allows("file_read")
    assert not policy.allows("file_write")  # would run without asking under a manual admin
    # Without an admin approval rule, the user's allow list stands as before.
    free = layered([admin('deny = ["bash"]'), mine('allow = ["file_write"]')])
    assert free.allows("file_write")
    assert not free.allows("bash")


def test_every_allow_list_of_providers_urls_and_models_must_pass():
    policy = layered(
        [
            admin('models = ["llama3*", "qwen*"]\nbase_urls = ["http://gateway:4000/v1/"]'),
            mine('models = ["qwen2.5-coder*"]'),
        ]
    )
    assert policy.refuses("models", "qwen2.5-coder:7b") is None
    refusal = policy.refuses("models", "llama3.1")  # the admin allows it, the user does not
    assert refusal is not None
    assert "~/.collet/policy.toml" in refusal
    refusal = policy.refuses("models", "gpt-4o")
    assert refusal is not None
    assert "model 'gpt-4o' is not allowed by /etc/collet/policy.toml" in refusal
    assert "COLLET_MODEL" in refusal
    assert policy.refuses("base_urls", "http://gateway:4000/v1") is None  # a trailing / aside
    assert policy.refuses_settings("openai", "http://gateway:4000/v1", "qwen2.5-coder") is None
    refused = policy.refuses_settings("openai", None, "qwen2.5-coder")
    assert refused is not None
    assert "the provider's default" in refused
    # The offline demo model reaches no endpoint and no real model.
    assert policy.refuses_settings("demo", None, "demo") is None
    assert layered([admin('providers = ["openai"]')]).refuses_settings("demo", None, "demo")


def test_budgets_take_the_lowest_and_an_admins_session_budget_cannot_be_passed():
    policy = layered(
        [
            admin("token_budget = 1000\ndaily_token_budget = 5000\ndaily_cost_budget = 2.0"),
            mine("token_budget = 800\ndaily_token_budget = 9000\ncost_budget = 1.5"),
        ]
    )
    assert (policy.token_budget, policy.cost_budget) == (800, 1.5)  # these ask
    assert policy.token_cap == 1000  # the admin's: a hard stop
    assert policy.daily_token_budget == 5000  # the lower one
    assert policy.origins["daily_token_budget"] == "/etc/collet/policy.toml"
    assert policy.daily_cost_budget == 2.0
    assert policy.limits_requests
    assert policy.daily
    assert policy.stops(session=(999, 0.0), today=(4999, 1.99)) is None
    stop = policy.stops(session=(1000, 0.0), today=(0, 0.0))
    assert stop is not None
    assert (stop.key, stop.limit) == ("token_cap", "token_budget")
    stop = policy.stops(session=(10, 0.0), today=(5000, 0.0))
    assert stop is not None
    assert stop.key == "daily_token_budget"
    assert "5,000 of 5,000 tokens today (set by /etc/collet/policy.toml)" in stop.message
    assert "midnight" in stop.message
    stop = policy.stops(session=(10, 0.0), today=(10, 2.0))
    assert stop is not None
    assert (stop.key, stop.limit) == ("daily_cost_budget", "cost_budget")
    lower = layered([admin("daily_token_budget = 5000"), mine("daily_token_budget = 100")])
    assert lower.daily_token_budget == 100  # a user may tighten their own
    assert not layered([mine("token_budget = 5")]).limits_requests  # asking is the runner's


def test_describe_names_the_file_of_every_rule():
    policy = layered(
        [
            admin('approval = "manual"\ndeny = ["bash"]\ndaily_token_budget = 5000'),
            mine('deny = ["mcp__*"]'),
        ]
    )
    lines = policy.describe()
    assert "approval manual: fixed by /etc/collet/policy.toml" in lines
    assert "never offered: bash (/etc/collet/policy.toml)" in lines
    assert "never offered: mcp__* (~/.collet/policy.toml)" in lines
    assert "5,000 tokens per user per day (/etc/collet/policy.toml)" in lines
    assert Policy().describe() == []


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"min_approval": "lax"}, None),
        ({"models": "llama3"}, "models"),
        ({"models": []}, "models"),
        ({"base_urls": [3]}, "base_urls"),
        ({"daily_token_budget": 0}, "daily_token_budget"),
        ({"daily_cost_budget": "a lot"}, "daily_cost_budget"),
    ],
)
def test_a_bad_admin_key_says_which_key_and_file(data, key):
    with pytest.raises(ConfigError) as info:
        parse_policy(data, source="/etc/collet/policy.toml", admin=True)
    assert "/etc/collet/policy.toml" in str(info.value)
    if key is not None:
        assert info.value.key == key
