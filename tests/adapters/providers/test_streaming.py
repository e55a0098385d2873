"""Both wire adapters against the loopback server: replies, tool calls, quirks, bodies."""

import asyncio
import logging

import pytest

from collet_nb.adapters.providers import make_provider
from collet_nb.core.chat import ChatMessage, ToolSpec, Usage
from collet_nb.core.ports import ModelRequest, ReasoningChunk, TextChunk
from tests.adapters.providers.conftest import check_readable, user
from tests.support.fake_llm import Cut, Fail, FakeLLM, FakeToolCall, Rule

KINDS = ["openai", "anthropic"]
TEXT = "Hello, wörld! ✓ Ça va? 🙂"
WEATHER = FakeToolCall(name="get_weather", arguments={"city": "Oslo", "unit": "C"})
TIME = FakeToolCall(name="get_time", arguments={"zone": "Europe/Oslo"})


@pytest.mark.parametrize("kind", KINDS)
def test_plain_text_streams_in_pieces_and_reports_usage_once(talk, kind):
    # Paced as a model writes: each piece goes on as it arrives (what arrives together, from
    # a server faster than the reader, goes on together: test_a_burst_arrives_as_one_chunk).
    with FakeLLM([Rule(text=TEXT, usage=(21, 8), gap=0.01)]) as llm:
        result = talk(kind, llm.base_url)
    assert result.error is None
    assert result.text == TEXT
    assert sum(isinstance(c, TextChunk) for c in result.chunks) > 1
    assert result.usage == [Usage(prompt_tokens=21, completion_tokens=8)]
    assert result.restarts == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_burst_arrives_as_one_chunk_in_order(talk, kind):
    # What one network read delivers goes on as one batch, whatever its size. Mutation:
    # feed_many yielding one chunk per event -> hundreds of chunks here.
    text = "".join(f"word{n} " for n in range(600))
    with FakeLLM([Rule(text=text, chunk_size=3, quirks={"burst"})]) as llm:
        result = talk(kind, llm.base_url)
    assert result.text == text
    pieces = sum(isinstance(c, TextChunk) for c in result.chunks)
    events = len(text) // 3
    assert pieces < events / 10, (pieces, events)


@pytest.mark.parametrize("kind", KINDS)
def test_one_tool_call_arrives_whole(talk, kind):
    with FakeLLM([Rule(tool_calls=[WEATHER])]) as llm:
        result = talk(kind, llm.base_url)
    [call] = result.calls
    assert call.name == "get_weather"
    assert call.parsed_arguments() == {"city": "Oslo", "unit": "C"}
    assert call.id


@pytest.mark.parametrize("kind", KINDS)
def test_several_tool_calls_arrive_in_order_with_distinct_ids(talk, kind):
    with FakeLLM([Rule(tool_calls=[WEATHER, TIME, WEATHER])]) as llm:
        result = talk(kind, llm.base_url)
    assert [c.name for c in result.calls] == ["get_weather", "get_time", "get_weather"]
    assert len({c.id for c in result.calls}) == 3


@pytest.mark.parametrize("kind", KINDS)
def test_text_before_a_tool_call_comes_first(talk, kind):
    with FakeLLM([Rule(text="Let me check.", tool_calls=[WEATHER])]) as llm:
        result = talk(kind, llm.base_url)
    kinds = [type(c).__name__ for c in result.chunks]
    assert result.text == "Let me check."
    assert kinds.index("ToolCallChunk") > max(i for i, k in enumerate(kinds) if k == "TextChunk")


@pytest.mark.parametrize("kind", KINDS)
def test_reasoning_is_kept_apart_from_the_answer(talk, kind):
    with FakeLLM([Rule(reasoning="First, think.", text="Done.")]) as llm:
        result = talk(kind, llm.base_url)
    assert result.reasoning == "First, think."
    assert result.text == "Done."
    first = result.chunks[0]
    assert isinstance(first, ReasoningChunk)


@pytest.mark.parametrize("quirk", ["reasoning", "reasoning_both"])
def test_openai_reasoning_under_any_field_name_is_shown_once(talk, quirk):
    with FakeLLM([Rule(reasoning="abcdefgh", text="x", quirks=[quirk])]) as llm:
        result = talk("openai", llm.base_url)
    assert result.reasoning == "abcdefgh"


def test_ollama_calls_at_index_zero_become_separate_calls(talk):
    with FakeLLM([Rule(tool_calls=[WEATHER, TIME], quirks=["ollama_index0"])]) as llm:
        result = talk("openai", llm.base_url)
    assert [c.name for c in result.calls] == ["get_weather", "get_time"]
    assert [c.parsed_arguments() for c in result.calls] == [
        dict(WEATHER.arguments),
        dict(TIME.arguments),
    ]


def test_vllm_usage_chunk_without_choices_is_read(talk):
    with FakeLLM([Rule(text="hi", usage=(3, 1), quirks=["usage_without_choices"])]) as llm:
        result = talk("openai", llm.base_url)
    assert result.text == "hi"
    assert result.usage == [Usage(prompt_tokens=3, completion_tokens=1)]


def test_tool_call_deltas_without_index_still_assemble(talk):
    with FakeLLM([Rule(tool_calls=[WEATHER, TIME], quirks=["missing_index"])]) as llm:
        result = talk("openai", llm.base_url)
    assert [c.parsed_arguments() for c in result.calls] == [
        dict(WEATHER.arguments),
        dict(TIME.arguments),
    ]


def test_tool_calls_without_ids_get_unique_generated_ids(talk):
    with FakeLLM([Rule(tool_calls=[WEATHER, TIME], quirks=["no_ids"])]) as llm:
        result = talk("openai", llm.base_url)
    ids = [c.id for c in result.calls]
    assert all(ids)
    assert len(set(ids)) == 2


def test_a_stream_ending_after_the_finish_reason_without_done_is_complete(talk):
    with FakeLLM([Rule(text="bye", quirks=["no_done"])]) as llm:
        result = talk("openai", llm.base_url)
    assert result.error is None
    assert result.text == "bye"
    assert len(llm.chat_requests) == 1


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("quirk", ["split_utf8", "malformed", "crlf"])
def test_awkward_framing_yields_the_same_reply(talk, kind, quirk):
    with FakeLLM([Rule(text=TEXT, tool_calls=[WEATHER], quirks=[quirk], chunk_size=3)]) as llm:
        result = talk(kind, llm.base_url)
    assert result.error is None
    assert result.text == TEXT
    assert [c.parsed_arguments() for c in result.calls] == [dict(WEATHER.arguments)]
    assert len(llm.chat_requests) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_server_that_ignores_streaming_still_answers(talk, kind):
    with FakeLLM([Rule(text="whole", tool_calls=[WEATHER], quirks=["ignore_stream"])]) as llm:
        result = talk(kind, llm.base_url)
    assert result.text == "whole"
    assert [c.name for c in result.calls] == ["get_weather"]
    assert len(result.usage) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_invalid_tool_arguments_reach_the_loop_as_raw_text(talk, kind):
    broken = FakeToolCall(name="f", arguments='{"path": "a.txt"')
    with FakeLLM([Rule(tool_calls=[broken])]) as llm:
        result = talk(kind, llm.base_url)
    [call] = result.calls
    assert call.arguments == '{"path": "a.txt"'
    with pytest.raises(ValueError, match="not valid JSON") as caught:
        call.parsed_arguments()
    check_readable(str(caught.value), ends=False)  # what the model reads as the tool's result


def test_openai_sends_the_key_only_as_a_bearer_token(talk):
    with FakeLLM([Rule(text="ok")]) as llm:
        talk("openai", llm.base_url, api_key="sk-only-here")
    [request] = llm.chat_requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-only-here"
    assert "x-api-key" not in request.headers
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}


def test_anthropic_sends_the_key_only_in_x_api_key_with_the_version(talk):
    with FakeLLM([Rule(text="ok")]) as llm:
        talk("anthropic", llm.base_url, api_key="sk-ant-only-here")
    [request] = llm.chat_requests
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == "sk-ant-only-here"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    assert request.body["max_tokens"] == 8192
    assert request.body["system"] == "be brief"


@pytest.mark.parametrize("kind", KINDS)
def test_no_key_sends_no_auth_header(talk, kind):
    with FakeLLM([Rule(text="ok")]) as llm:
        talk(kind, llm.base_url, api_key=None)
    [request] = llm.chat_requests
    assert "authorization" not in request.headers
    assert "x-api-key" not in request.headers


@pytest.mark.parametrize("kind", KINDS)
def test_tool_results_go_back_paired_with_their_calls(talk, kind):
    spec = ToolSpec(
        name="get_weather",
        description="Weather",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}},
    )
    rules = [
        Rule(role="tool", contains="sunny", text="It is sunny in Oslo."),
        Rule(role="user", contains="weather", text="Checking.", tool_calls=[WEATHER, WEATHER]),
    ]
    with FakeLLM(rules) as llm:
        first_request = ModelRequest(
            model="fake-model",
            system="s",
            tools=(spec,),
            messages=(ChatMessage(role="user", content="weather in Oslo?"),),
        )
        first = talk(kind, llm.base_url, first_request)
        history = (
            *first_request.messages,
            ChatMessage(role="assistant", content=first.text, tool_calls=tuple(first.calls)),
            *(
                ChatMessage(role="tool", content="sunny", tool_call_id=c.id, name=c.name)
                for c in first.calls
            ),
        )
        second = talk(
            kind,
            llm.base_url,
            ModelRequest(model="fake-model", system="s", tools=(spec,), messages=history),
        )
    assert second.text == "It is sunny in Oslo."
    body = llm.chat_requests[1].body
    ids = [c.id for c in first.calls]
    if kind == "openai":
        assert body["tools"][0]["function"]["name"] == "get_weather"
        assistant, *results = body["messages"][2:]
        assert [c["id"] for c in assistant["tool_calls"]] == ids
        assert [r["tool_call_id"] for r in results] == ids
    else:
        assert body["tools"][0]["input_schema"] == spec.parameters
        assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
        uses = [b["id"] for b in body["messages"][1]["content"] if b["type"] == "tool_use"]
        results = [b["tool_use_id"] for b in body["messages"][2]["content"]]
        assert uses == ids
        assert results == ids


@pytest.mark.parametrize("kind", KINDS)
def test_a_consumer_that_stops_early_closes_the_stream_cleanly(kind):
    async def go(url):
        provider = make_provider(kind, base_url=url, api_key="k", model="m", trust_env=False)
        try:
            stream = provider.stream(user("hi"))
            first = await stream.__anext__()
            await stream.aclose()
        finally:
            await provider.aclose()
        return first

    with FakeLLM([Rule(text="a long reply " * 20)]) as llm:
        first = asyncio.run(asyncio.wait_for(go(llm.base_url), 20))
    assert isinstance(first, TextChunk)
    assert len(llm.chat_requests) == 1


def test_repr_masks_the_key():
    async def go():
        provider = make_provider("anthropic", api_key="sk-ant-very-secret", model="claude")
        try:
            return repr(provider)
        finally:
            await provider.aclose()

    text = asyncio.run(go())
    assert "sk-ant-very-secret" not in text
    assert "***" in text


@pytest.mark.parametrize("kind", KINDS)
def test_the_key_never_reaches_the_logs(talk, kind, caplog):
    caplog.set_level(logging.DEBUG)
    with FakeLLM(
        [
            Rule(
                text="ok",
                faults=[Fail(status=500, message="echo sk-log-secret"), Cut(after_events=2)],
            )
        ]
    ) as llm:
        result = talk(kind, llm.base_url, api_key="sk-log-secret")
    assert result.text == "ok"
    assert "sk-log-secret" not in caplog.text
    assert all("sk-log-secret" not in str(r.__dict__) for r in caplog.records)
