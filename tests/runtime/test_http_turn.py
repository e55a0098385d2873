"""The agent loop over real HTTP: OpenAI and Anthropic adapters, the loopback SSE server,
real tools, a two-step tool use, the file on disk and the final answer shown."""

import asyncio

import pytest

from collet_nb.adapters.providers import make_provider
from collet_nb.core.events import TextDelta
from collet_nb.core.kinds import ChannelId
from collet_nb.core.settings import Settings
from collet_nb.runtime.hub import SessionHub
from tests.support.fake_llm import FakeLLM, FakeToolCall, Rule


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_a_two_step_tool_use_writes_the_file_and_shows_the_answer(tmp_path, kind):
    project = tmp_path / "project"
    project.mkdir()
    rules = [
        Rule(role="tool", contains="wrote", text="Done: notes.md has a title."),
        Rule(
            contains="make notes",
            text="I'll create the file.",
            tool_calls=[
                FakeToolCall(name="file_write", arguments={"path": "notes.md", "content": "# N\n"})
            ],
        ),
    ]
    with FakeLLM(rules) as llm:

        async def main():
            provider = make_provider(
                kind, base_url=llm.base_url, api_key="sk-test-not-shown", model="m"
            )
            hub = SessionHub(
                settings=lambda _p: Settings(
                    home=str(tmp_path / "home"), approval="yolo", provider=kind
                ),
                project_dir=project,
                provider_factory=lambda _s: provider,
            )
            runner = hub.runner(ChannelId.new("jupyter", "nb.ipynb"))
            deltas: list[str] = []
            runner.subscribe(lambda e: deltas.append(e.text) if isinstance(e, TextDelta) else None)
            runner.send("make notes please")
            await asyncio.wait_for(runner.wait_idle(), 30)
            await hub.aclose()
            return runner, "".join(deltas)

        runner, shown = asyncio.run(main())
        requests = llm.chat_requests

    assert (project / "notes.md").read_text() == "# N\n"
    assert shown == "I'll create the file.Done: notes.md has a title."
    assert runner.status()["messages"][0]["state"] == "answered"
    assert runner.status()["tokens"]["prompt"] > 0
    assert len(requests) == 2
    # The second request carries the tool result, paired with the call's id.
    assert requests[1].last_role == "tool"
    assert "wrote" in requests[1].last_text
    # The key went only in the protocol's auth header.
    header = "authorization" if kind == "openai" else "x-api-key"
    for r in requests:
        assert "sk-test-not-shown" in r.headers.get(header, "")
        assert "sk-test-not-shown" not in str(r.body)
