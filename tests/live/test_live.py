"""Opt-in: one real tool-using turn against whatever endpoint COLLET_LIVE_BASE_URL names
(e.g. a local Ollama: COLLET_LIVE_BASE_URL=http://localhost:11434/v1 COLLET_LIVE_MODEL=qwen3).
Skipped unless that variable is set; CI has no model to talk to.
"""

import asyncio
import os

import pytest

from collet_nb.adapters.providers import make_provider
from collet_nb.core.kinds import ChannelId
from collet_nb.core.settings import Settings
from collet_nb.runtime.hub import SessionHub

BASE_URL = os.environ.get("COLLET_LIVE_BASE_URL")

pytestmark = pytest.mark.skipif(not BASE_URL, reason="set COLLET_LIVE_BASE_URL to run")


def test_a_real_model_writes_a_file_with_a_tool(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    kind = os.environ.get("COLLET_LIVE_PROVIDER", "openai")

    async def main():
        provider = make_provider(
            kind,
            base_url=BASE_URL,
            api_key=os.environ.get("COLLET_LIVE_API_KEY"),
            model=os.environ.get("COLLET_LIVE_MODEL", "llama3.2"),
        )
        hub = SessionHub(
            settings=lambda _p: Settings(
                home=str(tmp_path / "home"), approval="yolo", provider=kind
            ),
            project_dir=project,
            provider_factory=lambda _s: provider,
        )
        runner = hub.runner(ChannelId.new("jupyter", "live.ipynb"))
        runner.send("Use the file_write tool to create the file answer.txt containing exactly: 42")
        await asyncio.wait_for(runner.wait_idle(), 300)
        await hub.aclose()
        return runner.status()

    status = asyncio.run(main())
    assert status["messages"][0]["state"] == "answered", status["messages"][0]["error"]
    assert (project / "answer.txt").read_text().strip() == "42"
