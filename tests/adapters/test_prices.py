"""Prices come from genai-prices' table, never from a guess: a local model is free."""

import pytest

from collet_nb.adapters.prices import is_local, make_pricer
from collet_nb.core.chat import Usage

MILLION = Usage(prompt_tokens=1_000_000, completion_tokens=0)


def test_a_hosted_model_the_table_knows_costs_in_proportion_to_its_tokens():
    price = make_pricer("openai", "https://api.openai.com/v1")
    assert price is not None
    one = price(MILLION, "gpt-4o")
    two = price(Usage(prompt_tokens=2_000_000, completion_tokens=0), "gpt-4o")
    out = price(Usage(prompt_tokens=0, completion_tokens=1_000_000), "gpt-4o")
    assert one is not None
    assert one > 0
    assert two == pytest.approx(2 * one)
    assert out is not None
    assert out > one  # output tokens cost more than input ones for this model


def test_a_gateway_the_table_does_not_list_prices_a_model_by_its_name():
    price = make_pricer("openai", "https://llm.gateway.example.com/v1")
    assert price is not None
    assert price(MILLION, "gpt-4o") == make_pricer("openai", "https://api.openai.com/v1")(
        MILLION, "gpt-4o"
    )
    assert price(MILLION, "our-own-finetune-7b") is None


@pytest.mark.parametrize(
    "url",
    ["http://localhost:11434/v1", "http://127.0.0.1:8000/v1", "http://192.168.1.20:4000",
     "http://10.0.0.5/v1", "http://gpu-box.local:8000/v1"],
)  # fmt: skip
def test_a_model_served_nearby_is_never_priced_by_its_name(url):
    assert is_local(url)
    price = make_pricer("openai", url)
    assert price is not None
    assert price(MILLION, "gpt-4o") is None  # a local LiteLLM or vLLM: what it costs is unknown


def test_the_demo_model_costs_nothing_and_needs_no_table():
    assert make_pricer("demo", "") is None
    assert not is_local("https://api.anthropic.com")
