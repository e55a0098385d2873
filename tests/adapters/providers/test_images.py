"""Images reach the model as image parts, in each protocol's shape, read back from the
loopback server's logged request bodies; a text-only model gets their descriptions instead."""

import pytest

from collet_nb.core.chat import ChatMessage, ToolCall
from collet_nb.core.images import MAX_IMAGE_BYTES, Image
from collet_nb.core.ports import ModelRequest
from tests.support.fake_llm import Fail, FakeLLM, Rule
from tests.support.images import png_base64

KINDS = ["openai", "anthropic"]
PLOT = Image(mime="image/png", data=png_base64(640, 480), source="cell 3")
CHART = Image(mime="image/png", data=png_base64(32, 32), source="mcp__charts__draw")
CALL = ToolCall(id="call_1", name="mcp__charts__draw", arguments="{}")


def conversation() -> ModelRequest:
    """A user message with a plot, a tool call whose result is an image, then a question."""
    return ModelRequest(
        model="fake-model",
        system="be brief",
        messages=(
            ChatMessage(role="user", content="what does @cell:3 show?", images=(PLOT,)),
            ChatMessage(role="assistant", content="", tool_calls=(CALL,)),
            ChatMessage(
                role="tool",
                content="drawn",
                tool_call_id=CALL.id,
                name=CALL.name,
                images=(CHART,),
            ),
            ChatMessage(role="user", content="compare them"),
        ),
    )


def has_images(request) -> bool:
    return bool(request.images)


@pytest.mark.parametrize("kind", KINDS)
def test_a_plot_and_a_tool_s_image_go_to_the_model_as_image_parts(talk, kind):
    with FakeLLM([Rule(text="A red square.")]) as llm:
        result = talk(kind, llm.base_url, conversation())
    assert result.error is None, result.error
    assert result.text == "A red square."
    sent = llm.chat_requests[0]
    assert [(mime, data) for _, mime, data in sent.images] == [
        ("image/png", PLOT.data),
        ("image/png", CHART.data),
    ]
    # Each image rides as an image, not as base64 pasted into the text.
    assert all(PLOT.data not in text and CHART.data not in text for _, text in sent.conversation)
    roles = [role for role, _ in sent.conversation]
    if kind == "openai":
        # A tool message holds text only: its image follows the run of tool messages, so
        # nothing comes between the assistant's calls and their results.
        assert roles == ["system", "user", "assistant", "tool", "user", "user"]
        assert "follow in the next message" in sent.conversation[3][1]
        assert "mcp__charts__draw (call_1)" in sent.conversation[4][1]
    else:
        # Anthropic takes the image inside the tool_result block itself.
        tool_result = sent.body["messages"][2]["content"][0]
        assert tool_result["type"] == "tool_result"
        assert [b["type"] for b in tool_result["content"]] == ["text", "image"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_text_only_model_that_refuses_images_gets_their_description_and_answers(talk, kind):
    # What vLLM answers for an image sent to a text-only model.
    refusal = Fail(status=400, message="At most 0 image(s) may be provided in one request.")
    with FakeLLM([Rule(match=has_images, faults=[refusal]), Rule(text="From the text.")]) as llm:
        result = talk(kind, llm.base_url, conversation())
    assert result.error is None, result.error
    assert result.text == "From the text."
    first, second = llm.chat_requests
    assert first.images
    assert not second.images
    texts = "\n".join(text for _, text in second.conversation)
    assert "[image from cell 3: 640×480 image/png," in texts
    assert "[image from mcp__charts__draw: 32×32 image/png," in texts
    (notice,) = result.retries
    assert notice.reason == "the model takes no images"
    assert notice.wait_s == 0
    assert "COLLET_IMAGES" in notice.detail


def test_once_refused_the_provider_sends_descriptions_without_asking_again():
    import asyncio

    from collet_nb.adapters.providers import make_provider

    refusal = Fail(status=500, message="image input is not supported - hint: provide the mmproj")

    async def two_requests(url: str) -> None:
        provider = make_provider("openai", base_url=url, model="fake-model", trust_env=False)
        try:
            for _ in range(2):
                async for _chunk in provider.stream(conversation()):
                    pass
        finally:
            await provider.aclose()

    rules = [Rule(match=has_images, faults=[refusal] * 5), Rule(text="ok")]
    with FakeLLM(rules) as llm:
        asyncio.run(asyncio.wait_for(two_requests(llm.base_url), 20))
    assert [bool(r.images) for r in llm.chat_requests] == [True, False, False]


def test_images_off_sends_only_descriptions(talk):
    with FakeLLM([Rule(text="ok")]) as llm:
        result = talk("anthropic", llm.base_url, conversation(), images="off")
    assert result.text == "ok"
    (sent,) = llm.chat_requests
    assert sent.images == []
    assert "[image from cell 3: 640×480 image/png," in sent.conversation[0][1]


def test_images_on_reports_the_refusal_instead_of_hiding_the_images(talk):
    refusal = Fail(
        status=400, message="Invalid content type. image_url is only supported by certain models."
    )
    with FakeLLM([Rule(match=has_images, faults=[refusal]), Rule(text="never")]) as llm:
        result = talk("openai", llm.base_url, conversation(), images="on")
    assert result.error is not None
    assert "image_url is only supported" in str(result.error)
    assert len(llm.chat_requests) == 1


def test_an_image_too_large_or_of_another_type_is_described_not_sent(talk):
    huge = Image(mime="image/png", data="A" * (MAX_IMAGE_BYTES * 4 // 3 + 8), source="cell 9")
    bmp = Image(mime="image/bmp", data=png_base64(4, 4), source="cell 8")
    request = ModelRequest(
        model="fake-model",
        system="",
        messages=(ChatMessage(role="user", content="look", images=(PLOT, huge, bmp)),),
    )
    with FakeLLM([Rule(text="ok")]) as llm:
        talk("openai", llm.base_url, request)
    (sent,) = llm.chat_requests
    assert [data for _, _, data in sent.images] == [PLOT.data]
    text = sent.body["messages"][0]["content"][0]["text"]
    assert "[image from cell 9: image/png, 5,242,88" in text
    assert "[image from cell 8: 4×4 image/bmp," in text
