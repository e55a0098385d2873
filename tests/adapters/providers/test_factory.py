import asyncio
import subprocess
import sys

import pytest

from collet_nb.adapters.providers import make_provider
from collet_nb.errors import ConfigError, ProviderError
from tests.support.fake_llm import Fail, FakeLLM, Rule


def build(kind, **options):
    async def go():
        provider = make_provider(kind, model="m", **options)
        try:
            return provider, provider._url, provider._wire
        finally:
            await provider.aclose()

    return asyncio.run(go())


def test_importing_the_providers_loads_neither_httpx2_nor_stamina():
    code = (
        "import sys, collet_nb.adapters.providers\n"
        "heavy = [m for m in ('httpx2', 'stamina', 'tenacity') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_an_unknown_kind_is_a_config_error_naming_the_choices():
    with pytest.raises(ConfigError) as caught:
        make_provider("gemini", model="m")
    assert caught.value.key == "provider"
    assert "openai" in str(caught.value)
    assert "anthropic" in str(caught.value)


def test_a_base_url_without_http_is_a_config_error():
    with pytest.raises(ConfigError) as caught:
        make_provider("openai", base_url="localhost:11434/v1", model="m")
    assert caught.value.key == "base_url"


def test_vendor_base_urls_are_the_defaults():
    provider, url, _ = build("openai")
    assert url == "https://api.openai.com/v1/chat/completions"
    assert provider.name == "openai"
    provider, url, _ = build("anthropic", base_url="")
    assert url == "https://api.anthropic.com/v1/messages"
    assert provider.name == "anthropic"


def test_an_anthropic_base_url_ending_in_v1_is_accepted():
    _, url, _ = build("anthropic", base_url="https://proxy.example/v1/")
    assert url == "https://proxy.example/v1/messages"


def test_openai_itself_gets_max_completion_tokens_and_local_servers_max_tokens():
    _, _, wire = build("openai")
    assert wire.max_tokens_field == "max_completion_tokens"
    _, _, wire = build("openai", base_url="http://localhost:11434/v1")
    assert wire.max_tokens_field == "max_tokens"


def test_a_pasted_key_with_a_newline_is_stripped(talk):
    with FakeLLM([Rule(text="ok")]) as llm:
        result = talk("openai", llm.base_url, api_key="sk-pasted\n")
    assert result.text == "ok"
    assert llm.chat_requests[0].headers["authorization"] == "Bearer sk-pasted"


def test_an_html_page_instead_of_an_api_fails_at_once(talk):
    page = Fail(status=200, body="<html>Welcome</html>", headers={"Content-Type": "text/html"})
    with FakeLLM([Rule(text="x", faults=[page])]) as llm:
        result = talk("openai", llm.base_url)
    assert type(result.error) is ProviderError
    assert "HTML" in str(result.error)
    assert len(llm.chat_requests) == 1
