"""Opt-in: both of our protocols through a real LiteLLM proxy (an OpenAI-compatible gateway that
also speaks Anthropic's /v1/messages), in front of the loopback LLM. Skipped unless the
``litellm`` command is found: on PATH, or at COLLET_LITELLM (e.g. a venv made with
``python -m venv /tmp/litellm && /tmp/litellm/bin/pip install 'litellm[proxy]'``, then
``COLLET_LITELLM=/tmp/litellm/bin/litellm``). CI does not install it (it is large).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.loopback import FIRST_ANSWER, LoopbackServer
from collet_nb.adapters.providers import make_provider
from collet_nb.core.kinds import ChannelId
from collet_nb.core.settings import Settings
from collet_nb.errors import ProviderError
from collet_nb.runtime.hub import SessionHub

LITELLM = os.environ.get("COLLET_LITELLM") or shutil.which("litellm")
MASTER_KEY = "sk-collet-" + os.urandom(16).hex()  # what a gateway's users put in COLLET_API_KEY

pytestmark = pytest.mark.skipif(
    not LITELLM, reason="install litellm[proxy] (or set COLLET_LITELLM) to run"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A LiteLLM proxy whose model ``loop`` is the loopback LLM; its base URL."""
    folder = tmp_path_factory.mktemp("litellm")
    with LoopbackServer(tokens=200, delay=0.0) as llm:
        config = folder / "config.yaml"
        config.write_text(
            "model_list:\n"
            "  - model_name: loop\n"
            "    litellm_params:\n"
            "      model: hosted_vllm/loopback\n"  # chat completions on both routes
            f"      api_base: {llm.base_url}\n"
            "      api_key: loopback-key\n"
        )
        port = free_port()
        log = (folder / "litellm.log").open("w")
        assert LITELLM is not None
        proxy = subprocess.Popen(
            [LITELLM, "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                "LITELLM_MASTER_KEY": MASTER_KEY,
                "LITELLM_LOG": "ERROR",
                "LITELLM_TELEMETRY": "False",
            },
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert proxy.poll() is None, (folder / "litellm.log").read_text()[-2000:]
                    time.sleep(0.5)
            yield f"http://127.0.0.1:{port}"
        finally:
            proxy.terminate()
            try:
                proxy.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proxy.kill()
                proxy.wait(timeout=20)
            log.close()


def turn(tmp_path: Path, kind: str, base_url: str) -> dict:
    async def main() -> dict:
        provider = make_provider(kind, base_url=base_url, api_key=MASTER_KEY, model="loop")
        hub = SessionHub(
            settings=lambda _p: Settings(home=str(tmp_path / "home"), provider=kind, model="loop"),
            project_dir=tmp_path,
            provider_factory=lambda _s: provider,
        )
        runner = hub.runner(ChannelId.new("jupyter", f"{kind}.ipynb"))
        runner.send("say the first token")
        await asyncio.wait_for(runner.wait_idle(), 120)
        texts = [m.content for m in runner.session.context.messages if m.role == "assistant"]
        await hub.aclose()
        return {"status": runner.status(), "answer": "".join(texts)}

    return asyncio.run(main())


@pytest.mark.parametrize(("kind", "path"), [("openai", "/v1"), ("anthropic", "")])
def test_a_turn_streams_whole_through_the_gateway_on_both_protocols(gateway, tmp_path, kind, path):
    seen = turn(tmp_path, kind, gateway + path)
    message = seen["status"]["messages"][0]
    assert message["state"] == "answered", message["error"]
    assert seen["answer"] == FIRST_ANSWER
    assert seen["status"]["tokens"]["prompt"] > 0  # the gateway's usage reached us


def test_a_model_the_gateway_does_not_have_fails_fast_and_says_so(gateway, tmp_path):
    async def main() -> None:
        provider = make_provider(
            "openai", base_url=gateway + "/v1", api_key=MASTER_KEY, model="nope"
        )
        from collet_nb.core.chat import ChatMessage
        from collet_nb.core.ports import ModelRequest

        request = ModelRequest(
            model="nope", system="", messages=(ChatMessage(role="user", content="hi"),)
        )
        try:
            async for _chunk in provider.stream(request):
                pass
        finally:
            await provider.aclose()

    started = time.monotonic()
    with pytest.raises(ProviderError) as info:
        asyncio.run(main())
    assert time.monotonic() - started < 15
    said = str(info.value)
    assert "nope" in said
    assert ".." not in said
    assert "<html" not in said.lower()
