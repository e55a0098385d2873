"""Tool results as the model reads them: text joined, binary content as placeholders."""

import base64

from mcp_types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)

from collet_nb.adapters.mcp.content import render_result


def b64(size: int) -> str:
    return base64.b64encode(bytes(size)).decode()


def test_text_is_joined_and_images_audio_and_blobs_become_placeholders_with_sizes():
    result = CallToolResult(
        content=[
            TextContent(text="first"),
            ImageContent(data=b64(1234), mime_type="image/png"),
            AudioContent(data=b64(10), mime_type="audio/wav"),
            EmbeddedResource(resource=TextResourceContents(uri="file:///a.txt", text="body")),
            EmbeddedResource(resource=BlobResourceContents(uri="file:///b.bin", blob=b64(5))),
            ResourceLink(uri="file:///c", name="c"),
            TextContent(text="last"),
        ]
    )
    text, is_error = render_result(result, cap=10_000)
    assert not is_error
    assert text.split("\n") == [
        "first",
        "[image: image/png, 1234 bytes]",
        "[audio: audio/wav, 10 bytes]",
        "[resource file:///a.txt]",
        "body",
        "[resource file:///b.bin: application/octet-stream, 5 bytes]",
        "[resource link: file:///c (c)]",
        "last",
    ]


def test_an_error_result_is_flagged_and_an_empty_one_says_so():
    failed = CallToolResult(content=[TextContent(text="no")], is_error=True)
    assert render_result(failed, cap=99) == ("no", True)
    assert render_result(CallToolResult(content=[]), cap=99) == ("(no output)", False)


def test_structured_content_is_shown_when_there_is_no_text():
    result = CallToolResult(content=[], structured_content={"answer": 42})
    assert render_result(result, cap=99) == ('{"answer": 42}', False)


def test_long_output_keeps_head_and_tail_within_the_cap():
    result = CallToolResult(content=[TextContent(text="a" * 500 + "END")])
    text, _ = render_result(result, cap=100)
    assert text.startswith("a" * 50)
    assert text.endswith("END")
    assert "characters cut" in text
