import json

from hypothesis import given
from hypothesis import strategies as st

from collet_nb.adapters.providers.accumulator import ChatCompletionAccumulator, ToolCallAccumulator
from collet_nb.core.chat import ToolCall, Usage
from collet_nb.core.ports import ReasoningChunk, TextChunk, ToolCallChunk, UsageChunk


def delta(finish=None, **fields):
    return {"choices": [{"index": 0, "delta": fields, "finish_reason": finish}]}


def calls_of(chunks):
    return [c.call for c in chunks if isinstance(c, ToolCallChunk)]


def run(*chunks):
    acc = ChatCompletionAccumulator()
    out = []
    for chunk in chunks:
        out.extend(acc.feed(chunk))
    out.extend(acc.finish())
    return out


def test_text_and_reasoning_pass_through_as_separate_chunks():
    out = run(delta(reasoning_content="think"), delta(content="Hi"), delta(content=" there"))
    assert out == [ReasoningChunk(text="think"), TextChunk(text="Hi"), TextChunk(text=" there")]


def test_reasoning_sent_under_both_names_is_shown_once():
    out = run(delta(reasoning_content="x", reasoning="x"))
    assert out == [ReasoningChunk(text="x")]


def test_reasoning_field_alone_is_reasoning_too():
    assert run(delta(reasoning="plan")) == [ReasoningChunk(text="plan")]


def test_arguments_arriving_in_pieces_are_joined():
    out = run(
        delta(tool_calls=[{"index": 0, "id": "c1", "function": {"name": "f", "arguments": ""}}]),
        delta(tool_calls=[{"index": 0, "function": {"arguments": '{"a"'}}]),
        delta(tool_calls=[{"index": 0, "function": {"arguments": ": 1}"}}]),
        delta(finish="tool_calls"),
    )
    assert calls_of(out) == [ToolCall(id="c1", name="f", arguments='{"a": 1}')]


def test_interleaved_calls_at_different_indexes_stay_apart():
    out = run(
        delta(tool_calls=[{"index": 0, "id": "a", "function": {"name": "f", "arguments": "{"}}]),
        delta(tool_calls=[{"index": 1, "id": "b", "function": {"name": "g", "arguments": "{"}}]),
        delta(tool_calls=[{"index": 0, "function": {"arguments": "}"}}]),
        delta(tool_calls=[{"index": 1, "function": {"arguments": "}"}}]),
    )
    assert calls_of(out) == [
        ToolCall(id="a", name="f", arguments="{}"),
        ToolCall(id="b", name="g", arguments="{}"),
    ]


def test_ollama_calls_at_index_zero_become_separate_calls():
    out = run(
        delta(
            tool_calls=[{"index": 0, "id": "x1", "function": {"name": "f", "arguments": '{"n":1}'}}]
        ),
        delta(
            tool_calls=[{"index": 0, "id": "x2", "function": {"name": "f", "arguments": '{"n":2}'}}]
        ),
        delta(finish="tool_calls"),
    )
    assert [(c.id, c.arguments) for c in calls_of(out)] == [("x1", '{"n":1}'), ("x2", '{"n":2}')]


def test_a_missing_index_with_a_name_opens_the_next_slot():
    out = run(
        delta(tool_calls=[{"id": "a", "function": {"name": "f", "arguments": "{}"}}]),
        delta(tool_calls=[{"function": {"name": "g", "arguments": '{"k":'}}]),
        delta(tool_calls=[{"function": {"arguments": '"v"}'}}]),
    )
    assert [(c.name, c.arguments) for c in calls_of(out)] == [("f", "{}"), ("g", '{"k":"v"}')]


def test_missing_ids_get_stable_generated_ones():
    out = run(
        delta(tool_calls=[{"index": 0, "function": {"name": "f", "arguments": "{}"}}]),
        delta(tool_calls=[{"index": 1, "function": {"name": "g", "arguments": "{}"}}]),
    )
    assert [c.id for c in calls_of(out)] == ["call_0", "call_1"]


def test_generated_ids_do_not_repeat_across_replies_of_one_accumulator():
    acc = ToolCallAccumulator()
    acc.add({"index": 0, "function": {"name": "f"}})
    first = acc.take()
    acc.add({"index": 0, "function": {"name": "f"}})
    second = acc.take()
    assert first[0].id != second[0].id


def test_an_id_repeated_on_every_delta_continues_its_call():
    out = run(
        delta(
            tool_calls=[{"index": 0, "id": "c", "function": {"name": "f", "arguments": '{"a":'}}]
        ),
        delta(tool_calls=[{"index": 0, "id": "c", "function": {"arguments": "1}"}}]),
    )
    assert calls_of(out) == [ToolCall(id="c", name="f", arguments='{"a":1}')]


def test_a_name_repeated_on_every_delta_does_not_split_the_call():
    out = run(
        delta(tool_calls=[{"index": 0, "function": {"name": "f", "arguments": '{"a":'}}]),
        delta(tool_calls=[{"index": 0, "function": {"name": "f", "arguments": "1}"}}]),
    )
    assert [(c.name, c.arguments) for c in calls_of(out)] == [("f", '{"a":1}')]


def test_without_ids_a_new_name_at_the_same_index_is_a_new_call():
    out = run(
        delta(tool_calls=[{"index": 0, "function": {"name": "f", "arguments": "{}"}}]),
        delta(tool_calls=[{"index": 0, "function": {"name": "g", "arguments": "{}"}}]),
        delta(tool_calls=[{"index": 0, "function": {"name": "g", "arguments": '{"x":1}'}}]),
    )
    assert [(c.name, c.arguments) for c in calls_of(out)] == [
        ("f", "{}"),
        ("g", "{}"),
        ("g", '{"x":1}'),
    ]


def test_invalid_argument_json_is_passed_through_raw():
    out = run(
        delta(tool_calls=[{"index": 0, "id": "c", "function": {"name": "f", "arguments": "{oops"}}])
    )
    assert calls_of(out)[0].arguments == "{oops"


def test_empty_arguments_become_an_empty_object():
    out = run(delta(tool_calls=[{"index": 0, "id": "c", "function": {"name": "f"}}]))
    assert calls_of(out)[0].arguments == "{}"


def test_arguments_sent_as_an_object_are_serialised():
    out = run(
        delta(
            tool_calls=[{"index": 0, "id": "c", "function": {"name": "f", "arguments": {"a": 1}}}]
        )
    )
    assert json.loads(calls_of(out)[0].arguments) == {"a": 1}


def test_calls_are_emitted_when_the_finish_reason_arrives():
    acc = ChatCompletionAccumulator()
    assert acc.feed(delta(tool_calls=[{"index": 0, "id": "c", "function": {"name": "f"}}])) == []
    out = acc.feed(delta(finish="tool_calls"))
    assert calls_of(out) == [ToolCall(id="c", name="f", arguments="{}")]
    assert acc.finish_reason == "tool_calls"
    assert acc.finish() == []


def test_a_final_usage_chunk_without_choices_is_reported_once_at_the_end():
    out = run(
        delta(content="hi"),
        delta(finish="stop"),
        {"id": "x", "usage": {"prompt_tokens": 5, "completion_tokens": 2}},
    )
    assert out == [
        TextChunk(text="hi"),
        UsageChunk(usage=Usage(prompt_tokens=5, completion_tokens=2)),
    ]


def test_a_usage_chunk_with_empty_choices_and_null_usage_elsewhere_is_fine():
    out = run(
        {**delta(content="a"), "usage": None},
        {"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 1}},
    )
    assert out[-1] == UsageChunk(usage=Usage(prompt_tokens=1, completion_tokens=1))
    assert sum(isinstance(c, UsageChunk) for c in out) == 1


def test_garbage_chunks_are_ignored():
    out = run({"choices": "nope"}, {"choices": [None, 3]}, {"choices": [{"delta": "x"}]}, {})
    assert out == []


def test_a_non_streamed_completion_converts_to_the_same_chunks():
    acc = ChatCompletionAccumulator()
    out = acc.whole(
        {
            "choices": [
                {
                    "message": {
                        "content": "Hi",
                        "reasoning_content": "r",
                        "tool_calls": [
                            {"id": "a", "function": {"name": "f", "arguments": "{}"}},
                            {"id": "b", "function": {"name": "g", "arguments": "{}"}},
                        ],
                    },
                    "finish_reason": "tool_calls",
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4},
        }
    )
    assert out == [
        ReasoningChunk(text="r"),
        TextChunk(text="Hi"),
        ToolCallChunk(call=ToolCall(id="a", name="f", arguments="{}")),
        ToolCallChunk(call=ToolCall(id="b", name="g", arguments="{}")),
        UsageChunk(usage=Usage(prompt_tokens=3, completion_tokens=4)),
    ]


@given(
    arguments=st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=8), max_size=4),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=8),
)
def test_any_split_of_the_arguments_yields_the_same_call(arguments, cuts):
    text = json.dumps(arguments, ensure_ascii=False)
    points = sorted({min(c, len(text)) for c in cuts})
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    chunks = [
        delta(tool_calls=[{"index": 0, "id": "c", "function": {"name": "f", "arguments": ""}}])
    ]
    chunks += [delta(tool_calls=[{"index": 0, "function": {"arguments": p}}]) for p in pieces]
    [call] = calls_of(run(*chunks))
    assert json.loads(call.arguments) == arguments
