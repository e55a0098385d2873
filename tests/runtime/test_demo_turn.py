"""The quickstart path end to end: a hub's session with the demo model, the real tools and
the real journal on disk."""

import asyncio

from collet_nb.adapters.demo import DemoProvider
from collet_nb.adapters.journal import read_records
from collet_nb.core.kinds import ChannelId
from collet_nb.core.replay import replay
from collet_nb.core.settings import Settings
from collet_nb.runtime.hub import SessionHub
from collet_nb.ui.text import TextRenderer


def test_the_hello_prompt_writes_and_runs_a_script_after_two_approvals(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    settings = Settings(home=str(tmp_path / "home"), approval="auto")
    out: list[str] = []

    async def main():
        hub = SessionHub(
            settings=lambda _p: settings,
            project_dir=project,
            provider_factory=lambda _s: DemoProvider(pace=0),
        )
        runner = hub.runner(ChannelId.new("jupyter", "quickstart.ipynb"))
        runner.subscribe(TextRenderer(out.append))
        runner.send("write a hello world script")
        approvals = []
        while (state := await asyncio.wait_for(runner.wait_idle(), 20)).value != "idle":
            assert state.value == "awaiting_approval"
            approvals.append(runner.status()["pending_tools"][0]["name"])
            runner.allow()
        await hub.aclose()
        return runner, approvals

    runner, approvals = asyncio.run(main())
    assert approvals == ["file_write", "bash"]
    assert (project / "hello.py").read_text() == 'print("Hello, world!")\n'
    transcript = "".join(out)
    assert "✓ bash" in transcript
    assert "Hello, world! [exit code 0]" in transcript
    assert "[m1 answered]" in transcript
    image = replay(
        read_records(tmp_path / "home" / "sessions" / f"{runner.session.session_id}.jsonl")
    )
    assert [m.state.value for m in image.messages] == ["answered"]
    assert image.context == runner.session.context.messages
