import json

import pytest
from httpx2 import ServerSentEvent as SSEEvent

from collet_nb.adapters.providers.anthropic import AnthropicStreamDecoder, anthropic_body
from collet_nb.adapters.providers.openai import OpenAIStreamDecoder, openai_body
from collet_nb.core.chat import ChatMessage, ToolCall, ToolSpec, Usage
from collet_nb.core.ports import ModelRequest, TextChunk, ToolCallChunk, UsageChunk
from collet_nb.errors import ProviderStreamError

SPEC = ToolSpec(
    name="file_read",
    description="Read a file",
    parameters={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)
CALL_A = ToolCall(id="call_a", name="file_read", arguments='{"path": "a.txt"}')
CALL_B = ToolCall(id="call_b", name="file_read", arguments="{broken")

HISTORY = ModelRequest(
    model="m",
    system="sys",
    max_tokens=100,
    tools=(SPEC,),
    messages=(
        ChatMessage(role="user", content="read both"),
        ChatMessage(role="assistant", content="", tool_calls=(CALL_A, CALL_B)),
        ChatMessage(role="tool", content="AAA", tool_call_id="call_a", name="file_read"),
        ChatMessage(
            role="tool", content="bad json", tool_call_id="call_b", name="file_read", is_error=True
        ),
        ChatMessage(role="user", content="and now?"),
    ),
)


def test_openai_body_streams_with_usage_and_offers_tools_as_functions():
    body = openai_body(HISTORY, model="m")
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 100
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "file_read",
                "description": "Read a file",
                "parameters": SPEC.parameters,
            },
        }
    ]


def test_openai_body_pairs_tool_results_with_the_assistant_calls():
    messages = openai_body(HISTORY, model="m")["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "tool", "user"]
    assistant = messages[2]
    assert assistant["content"] is None
    assert [c["id"] for c in assistant["tool_calls"]] == ["call_a", "call_b"]
    assert [m["tool_call_id"] for m in messages[3:5]] == ["call_a", "call_b"]


def test_openai_history_replaces_invalid_arguments_with_an_empty_object():
    assistant = openai_body(HISTORY, model="m")["messages"][2]
    assert [c["function"]["arguments"] for c in assistant["tool_calls"]] == [
        '{"path": "a.txt"}',
        "{}",
    ]


def test_openai_body_can_use_max_completion_tokens():
    body = openai_body(HISTORY, model="m", max_tokens_field="max_completion_tokens")
    assert body["max_completion_tokens"] == 100
    assert "max_tokens" not in body


def test_openai_body_omits_an_empty_tool_list():
    body = openai_body(ModelRequest(model="m", system="", messages=()), model="m")
    assert "tools" not in body
    assert body["messages"] == []


def test_anthropic_body_keeps_system_apart_and_requires_max_tokens():
    body = anthropic_body(HISTORY, model="m")
    assert body["system"] == "sys"
    assert body["max_tokens"] == 100
    assert body["tools"] == [
        {"name": "file_read", "description": "Read a file", "input_schema": SPEC.parameters}
    ]


def test_anthropic_messages_alternate_with_tool_results_in_a_user_message():
    messages = anthropic_body(HISTORY, model="m")["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == [
        {"type": "tool_use", "id": "call_a", "name": "file_read", "input": {"path": "a.txt"}},
        {"type": "tool_use", "id": "call_b", "name": "file_read", "input": {}},
    ]
    assert messages[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_a", "content": "AAA"},
        {"type": "tool_result", "tool_use_id": "call_b", "content": "bad json", "is_error": True},
        {"type": "text", "text": "and now?"},
    ]


def test_anthropic_merges_consecutive_messages_of_one_role_and_drops_empty_ones():
    request = ModelRequest(
        model="m",
        system="",
        messages=(
            ChatMessage(role="user", content="a"),
            ChatMessage(role="user", content="b"),
            ChatMessage(role="assistant", content="   "),
            ChatMessage(role="system", content="note"),
            ChatMessage(role="user", content="c"),
        ),
    )
    body = anthropic_body(request, model="m")
    assert body["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": t} for t in ("a", "b", "c")],
        }
    ]
    assert body["system"] == "note"


def events(*pairs):
    return [
        SSEEvent(event=name, data=json.dumps({"type": name, **payload})) for name, payload in pairs
    ]


def test_anthropic_decoder_accumulates_input_json_deltas_into_one_call():
    decoder = AnthropicStreamDecoder()
    out = []
    for event in events(
        (
            "message_start",
            {"message": {"usage": {"input_tokens": 9, "cache_read_input_tokens": 1}}},
        ),
        (
            "content_block_start",
            {
                "index": 0,
                "content_block": {"type": "tool_use", "id": "t1", "name": "f", "input": {}},
            },
        ),
        (
            "content_block_delta",
            {"index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"a"'}},
        ),
        (
            "content_block_delta",
            {"index": 0, "delta": {"type": "input_json_delta", "partial_json": ": 1}"}},
        ),
        ("content_block_stop", {"index": 0}),
        ("message_delta", {"delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 4}}),
        ("message_stop", {}),
    ):
        out.extend(decoder.feed(event))
    assert out == [
        ToolCallChunk(call=ToolCall(id="t1", name="f", arguments='{"a": 1}')),
        UsageChunk(usage=Usage(prompt_tokens=10, completion_tokens=4)),
    ]
    assert decoder.ended


def test_anthropic_decoder_refuses_a_stream_that_stops_before_the_end():
    decoder = AnthropicStreamDecoder()
    for event in events(
        ("message_start", {"message": {}}),
        ("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
    ):
        decoder.feed(event)
    with pytest.raises(ProviderStreamError) as caught:
        decoder.close()
    assert caught.value.retryable is True


def test_openai_decoder_skips_non_json_and_stops_at_done():
    decoder = OpenAIStreamDecoder()
    out = decoder.feed(SSEEvent(data="{not json"))
    out += decoder.feed(SSEEvent(data=json.dumps({"choices": [{"delta": {"content": "x"}}]})))
    out += decoder.feed(SSEEvent(data="[DONE]"))
    assert out == [TextChunk(text="x")]
    assert decoder.ended
    assert decoder.close() == []


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        ({"message": "busy", "type": "server_error"}, True),
        ({"message": "slow down", "code": 429}, True),
        ({"message": "upstream", "code": 502}, True),
        ({"message": "Overloaded", "type": "overloaded_error"}, True),
        ({"message": "bad", "type": "invalid_request_error", "code": 400}, False),
    ],
)
def test_openai_error_objects_in_the_stream_are_classified(error, retryable):
    decoder = OpenAIStreamDecoder()
    with pytest.raises(ProviderStreamError) as caught:
        decoder.feed(SSEEvent(data=json.dumps({"error": error})))
    assert caught.value.retryable is retryable
