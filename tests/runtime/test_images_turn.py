"""Images through a whole turn: an MCP tool's image result reaches the next model request as
an image part, and an image attached to a message goes with it (journaled, so a retry keeps it)."""

import asyncio
import json
import sys

import pytest

from collet_nb.adapters.providers import make_provider
from collet_nb.core.images import Image
from collet_nb.core.kinds import ChannelId
from collet_nb.core.settings import Settings
from collet_nb.runtime.hub import SessionHub
from tests.adapters.mcp.harness import SERVER
from tests.support.fake_llm import Fail, FakeLLM, FakeToolCall, Rule
from tests.support.images import png_base64


def hub_for(tmp_path, kind, llm, **settings):
    project = tmp_path / "project"
    (project / ".collet").mkdir(parents=True, exist_ok=True)
    servers = {"t": {"command": sys.executable, "args": [SERVER, "stdio"]}}
    (project / ".collet" / "mcp.json").write_text(json.dumps({"mcpServers": servers}))
    provider = make_provider(
        kind, base_url=llm.base_url, api_key="sk-images-test", model="m", **settings
    )
    return SessionHub(
        settings=lambda _p: Settings(home=str(tmp_path / "home"), approval="yolo", provider=kind),
        project_dir=project,
        provider_factory=lambda _s: provider,
    )


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_an_mcp_tool_s_image_reaches_the_next_model_request_as_an_image(tmp_path, kind):
    rules = [
        Rule(match=lambda request: bool(request.images), text="A single pixel."),
        Rule(
            contains="draw",
            tool_calls=[FakeToolCall(name="mcp__t__picture", arguments={})],
        ),
    ]
    with FakeLLM(rules) as llm:

        async def main():
            hub = hub_for(tmp_path, kind, llm)
            runner = hub.runner(ChannelId.new("jupyter", "nb.ipynb"))
            runner.send("draw me something")
            await asyncio.wait_for(runner.wait_idle(), 60)
            status = runner.status()
            await hub.aclose()
            return status

        status = asyncio.run(main())
        first, second = llm.chat_requests
    assert status["messages"][0]["state"] == "answered"
    assert first.images == []
    ((role, mime, _data),) = second.images
    assert mime == "image/png"
    # OpenAI: in a user message after the tool message; Anthropic: inside the tool_result.
    assert role == "user"
    assert second.last_role == ("user" if kind == "openai" else "tool")


def test_an_attached_image_goes_with_its_message_and_with_its_retry(tmp_path):
    plot = Image(mime="image/png", data=png_base64(320, 240), source="cell 2")
    refused = Fail(status=503, message="busy")
    with FakeLLM([Rule(text="A plot.", faults=[refused] * 9, times=9)]) as llm:

        async def main():
            hub = hub_for(tmp_path, "openai", llm, max_retries=0)
            runner = hub.runner(ChannelId.new("jupyter", "nb.ipynb"))
            runner.send("what is in @cell:2?", images=(plot,))
            await asyncio.wait_for(runner.wait_idle(), 60)
            failed = runner.status()["messages"][0]["state"]
            llm.rules[:] = [Rule(text="A red plot.")]
            runner.retry()
            await asyncio.wait_for(runner.wait_idle(), 60)
            status = runner.status()
            journal = runner.journal.path.read_text()
            await hub.aclose()
            return failed, status, journal

        failed, status, journal = asyncio.run(main())
        requests = llm.chat_requests
    assert failed == "failed"
    assert [m["state"] for m in status["messages"]] == ["failed", "answered"]
    assert [[data for _, _, data in r.images] for r in requests] == [[plot.data], [plot.data]]
    assert requests[-1].images[0][0] == "user"
    assert plot.data in journal  # journaled with the message, before it ran
