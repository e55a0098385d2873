"""The loopback server itself, spoken to with the stdlib, as other test suites will."""

import json
import urllib.error
import urllib.request

import pytest

from tests.support.fake_llm import FakeLLM, FakeToolCall, Rule


def post(url, body):
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers, response.read()


def test_a_non_streamed_openai_reply_is_a_chat_completion():
    with FakeLLM([Rule(text="hi", tool_calls=[FakeToolCall(name="f", arguments={"a": 1})])]) as llm:
        status, _, raw = post(
            llm.root_url + "/chat/completions", {"messages": [{"role": "user", "content": "x"}]}
        )
    message = json.loads(raw)["choices"][0]["message"]
    assert status == 200
    assert message["content"] == "hi"
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"a": 1}


def test_a_non_streamed_anthropic_reply_is_a_message():
    with FakeLLM([Rule(text="hi")]) as llm:
        _, _, raw = post(
            llm.root_url + "/v1/messages", {"messages": [{"role": "user", "content": "x"}]}
        )
    assert json.loads(raw)["content"] == [{"type": "text", "text": "hi"}]


def test_a_streamed_reply_is_server_sent_events():
    with FakeLLM([Rule(text="hi")]) as llm:
        _, headers, raw = post(llm.base_url + "/chat/completions", {"stream": True, "messages": []})
    assert headers["content-type"].startswith("text/event-stream")
    assert raw.decode().rstrip().endswith("data: [DONE]")


def test_no_matching_rule_is_a_400_that_says_so():
    with FakeLLM([Rule(contains="weather", text="sunny")]) as llm:
        with pytest.raises(urllib.error.HTTPError) as caught:
            post(
                llm.base_url + "/chat/completions",
                {"messages": [{"role": "user", "content": "hi"}]},
            )
        caught.value.close()
    assert caught.value.code == 400


def test_rules_match_on_role_text_and_times_in_order():
    rules = [
        Rule(role="tool", text="after tool"),
        Rule(any_contains="secret", text="saw secret", times=1),
        Rule(text="fallback"),
    ]
    messages = [{"role": "user", "content": "the secret"}, {"role": "user", "content": "hi"}]
    with FakeLLM(rules) as llm:
        url = llm.base_url + "/chat/completions"
        first = json.loads(post(url, {"messages": messages})[2])
        second = json.loads(post(url, {"messages": messages})[2])
        anthropic_tool = [
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t", "content": "42"}],
            }
        ]
        third = json.loads(post(llm.root_url + "/v1/messages", {"messages": anthropic_tool})[2])
        assert llm.wait_for_requests(3, timeout=5)[2].last_role == "tool"
    assert first["choices"][0]["message"]["content"] == "saw secret"
    assert second["choices"][0]["message"]["content"] == "fallback"
    assert third["content"][0]["text"] == "after tool"


def test_models_are_listed():
    with (
        FakeLLM(models=["a", "b"]) as llm,
        urllib.request.urlopen(llm.base_url + "/models", timeout=10) as response,
    ):
        data = json.loads(response.read())
    assert [m["id"] for m in data["data"]] == ["a", "b"]


def test_an_unknown_quirk_is_refused():
    with pytest.raises(ValueError, match="unknown quirks"):
        Rule(quirks=["olama"])
