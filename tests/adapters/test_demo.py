import asyncio
import json

import pytest

from collet_nb.adapters.demo import DemoProvider, load_scripts, pieces
from collet_nb.core.chat import ChatMessage
from collet_nb.core.ports import ModelRequest, TextChunk, ToolCallChunk, UsageChunk
from collet_nb.errors import ProviderHTTPError


def ask(provider: DemoProvider, *messages: ChatMessage) -> list:
    async def collect():
        request = ModelRequest(model="demo", system="", messages=messages)
        return [c async for c in provider.stream(request)]

    return asyncio.run(collect())


def test_the_hello_prompt_streams_text_in_pieces_then_asks_to_write_the_file():
    user = ChatMessage(role="user", content="Write a Hello World script")
    chunks = ask(DemoProvider(pace=0), user)
    texts = [c.text for c in chunks if isinstance(c, TextChunk)]
    calls = [c.call for c in chunks if isinstance(c, ToolCallChunk)]
    assert len(texts) > 3
    assert "".join(texts).startswith("I'll write a small script")
    assert [(c.name, json.loads(c.arguments)["path"]) for c in calls] == [
        ("file_write", "hello.py")
    ]
    assert isinstance(chunks[-1], UsageChunk)
    assert chunks[-1].usage.prompt_tokens > 0


def test_the_next_step_follows_the_tool_results_of_the_previous_one():
    user = ChatMessage(role="user", content="write a hello world script")
    first = ask(DemoProvider(pace=0), user)
    call = next(c.call for c in first if isinstance(c, ToolCallChunk))
    history = (
        user,
        ChatMessage(role="assistant", tool_calls=(call,)),
        ChatMessage(role="tool", content="wrote 23 bytes", tool_call_id=call.id),
    )
    second = ask(DemoProvider(pace=0), *history)
    assert [c.call.name for c in second if isinstance(c, ToolCallChunk)] == ["bash"]


def test_an_unknown_prompt_gets_a_kind_note_on_configuring_a_real_provider():
    chunks = ask(DemoProvider(pace=0), ChatMessage(role="user", content="what is the meaning?"))
    answer = "".join(c.text for c in chunks if isinstance(c, TextChunk))
    assert "offline demo model" in answer
    assert "COLLET_BASE_URL" in answer
    assert not any(isinstance(c, ToolCallChunk) for c in chunks)


def test_the_flaky_script_fails_once_then_answers():
    provider = DemoProvider(pace=0)
    user = ChatMessage(role="user", content="simulate a failure please")
    with pytest.raises(ProviderHTTPError, match="/retry") as info:
        ask(provider, user)
    assert info.value.status == 503
    assert "worked" in "".join(c.text for c in ask(provider, user) if isinstance(c, TextChunk))


def test_pieces_keep_every_character():
    text = "a  b\n\nc d e f g\t h"
    assert "".join(pieces(text)) == text


def test_scripts_can_be_supplied_as_data():
    scripts, fallback = load_scripts(
        'fallback = "nope"\n[[script]]\nname = "x"\nmatch = ["ping"]\n'
        '[[script.step]]\ntext = "pong"\n'
    )
    provider = DemoProvider(pace=0, scripts=scripts, fallback=fallback)
    answer = ask(provider, ChatMessage(role="user", content="PING"))
    assert "".join(c.text for c in answer if isinstance(c, TextChunk)) == "pong"


def test_an_approved_plan_gets_its_own_answer_even_when_the_plan_quotes_other_prompts():
    text = "The plan above is approved: carry it out.\n\n1. write a hello world script"
    chunks = ask(DemoProvider(pace=0), ChatMessage(role="user", content=text))
    assert not any(isinstance(c, ToolCallChunk) for c in chunks)
    assert "Carrying out the approved plan" in "".join(
        c.text for c in chunks if isinstance(c, TextChunk)
    )


def test_the_fallback_triggers_no_script():
    provider = DemoProvider(pace=0)
    assert not any(s.matches(provider.fallback) for s in provider.scripts)


def test_an_argument_from_the_result_takes_what_the_tool_named_there():
    """`{from_result = REGEX}`: the cell id a notebook tool named in its latest result."""
    scripts, _ = load_scripts(
        """
[[script]]
name = "run-it"
match = ["run it"]
[[script.step]]
text = "Inserting."
[[script.step.tool_calls]]
name = "notebook_insert"
arguments = { source = "1" }
[[script.step]]
text = "Running."
[[script.step.tool_calls]]
name = "notebook_run"
arguments = { cell = { from_result = "\\\\(id ([\\\\w-]+)" }, timeout = 5 }
"""
    )
    user = ChatMessage(role="user", content="run it")
    first = ask(DemoProvider(pace=0, scripts=scripts), user)
    call = next(c.call for c in first if isinstance(c, ToolCallChunk))

    def after(result: str) -> dict:
        history = (
            user,
            ChatMessage(role="assistant", tool_calls=(call,)),
            ChatMessage(role="tool", content=result, tool_call_id=call.id),
        )
        chunks = ask(DemoProvider(pace=0, scripts=scripts), *history)
        return json.loads(next(c.call for c in chunks if isinstance(c, ToolCallChunk)).arguments)

    assert after("Inserted a code cell at index 4 (id 9f-2c); it has not run.") == {
        "cell": "9f-2c",
        "timeout": 5,
    }
    assert after("the notebook front end did not answer") == {"cell": "", "timeout": 5}
