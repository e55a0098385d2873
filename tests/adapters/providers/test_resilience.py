"""Failures against the loopback server: statuses, retries, cut streams, error events, stalls."""

import asyncio
import socket

import pytest
import stamina.instrumentation

from collet_nb.adapters.providers import make_provider
from collet_nb.errors import ProviderError, ProviderHTTPError, ProviderStreamError
from tests.adapters.providers.conftest import user
from tests.support.fake_llm import Cut, Drop, ErrorEvent, Fail, FakeLLM, Rule, Stall

KINDS = ["openai", "anthropic"]
TEXT = "Hello, world! How are you today?"


@pytest.fixture
def retry_waits():
    """The backoffs stamina scheduled, in seconds."""
    waits: list[float] = []
    stamina.instrumentation.set_on_retry_hooks([lambda details: waits.append(details.wait_for)])
    yield waits
    stamina.instrumentation.set_on_retry_hooks(None)


@pytest.mark.parametrize("kind", KINDS)
def test_a_429_is_retried_after_the_wait_the_server_asks_for(talk, kind, retry_waits):
    with FakeLLM([Rule(text=TEXT, faults=[Fail(status=429, retry_after="0.05")])]) as llm:
        result = talk(kind, llm.base_url)
    assert result.error is None
    assert result.text == TEXT
    assert len(llm.chat_requests) == 2
    assert retry_waits == [pytest.approx(0.05)]


def test_retry_after_ms_is_honoured(talk, retry_waits):
    fault = Fail(status=429, headers={"retry-after-ms": "20"})
    with FakeLLM([Rule(text="ok", faults=[fault])]) as llm:
        result = talk("openai", llm.base_url)
    assert result.text == "ok"
    assert retry_waits == [pytest.approx(0.02)]


@pytest.mark.parametrize("kind", KINDS)
def test_two_server_errors_then_success_is_a_success(talk, kind):
    with FakeLLM([Rule(text=TEXT, faults=[Fail(status=500), Fail(status=503)])]) as llm:
        result = talk(kind, llm.base_url)
    assert result.error is None
    assert result.text == TEXT
    assert result.restarts == []
    assert len(llm.chat_requests) == 3


def test_anthropic_overloaded_529_is_retried(talk):
    with FakeLLM([Rule(text="ok", faults=[Fail(status=529, message="Overloaded")])]) as llm:
        result = talk("anthropic", llm.base_url)
    assert result.text == "ok"
    assert len(llm.chat_requests) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_400_fails_at_once_with_the_server_message(talk, kind):
    fault = Fail(status=400, message="max_tokens: 99999 > 8192, the maximum")
    with FakeLLM([Rule(text="never", faults=[fault])]) as llm:
        result = talk(kind, llm.base_url)
    error = result.error
    assert isinstance(error, ProviderHTTPError)
    assert error.status == 400
    assert error.retryable is False
    assert "max_tokens: 99999 > 8192" in str(error)
    assert len(llm.chat_requests) == 1
    assert result.chunks == []


@pytest.mark.parametrize(
    ("kind", "env"), [("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY")]
)
@pytest.mark.parametrize("status", [401, 403])
def test_an_auth_failure_names_the_env_var_and_never_the_key(talk, kind, env, status):
    key = "sk-super-secret-value"
    fault = Fail(status=status, message=f"Incorrect API key provided: {key}")
    with FakeLLM([Rule(text="never", faults=[fault])]) as llm:
        result = talk(kind, llm.base_url, api_key=key)
    error = result.error
    assert isinstance(error, ProviderHTTPError)
    assert error.status == status
    assert "COLLET_API_KEY" in str(error)
    assert env in str(error)
    assert key not in str(error)
    assert key not in error.body
    assert key not in repr(error)
    assert len(llm.chat_requests) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_retries_stop_at_the_attempt_cap(talk, kind):
    with FakeLLM([Rule(text="never", faults=[Fail(status=503)] * 10)]) as llm:
        result = talk(kind, llm.base_url, max_attempts=3)
    error = result.error
    assert isinstance(error, ProviderHTTPError)
    assert error.status == 503
    assert error.retryable is True
    assert "attempt 3 of 3" in str(error)
    assert len(llm.chat_requests) == 3


def test_a_retry_after_beyond_the_cap_fails_at_once(talk):
    with FakeLLM([Rule(text="never", faults=[Fail(status=429, retry_after="3600")])]) as llm:
        result = talk("openai", llm.base_url)
    error = result.error
    assert isinstance(error, ProviderHTTPError)
    assert error.retry_after == 3600
    assert len(llm.chat_requests) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_cut_before_any_text_is_retried_transparently(talk, kind):
    with FakeLLM([Rule(text=TEXT, faults=[Cut(after_events=1)])]) as llm:
        result = talk(kind, llm.base_url)
    assert result.error is None
    assert result.restarts == []
    assert result.text == TEXT
    assert "".join(c.text for c in result.chunks if hasattr(c, "text")) == TEXT
    assert len(llm.chat_requests) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_dropped_connection_is_retried(talk, kind):
    with FakeLLM([Rule(text=TEXT, faults=[Drop()])]) as llm:
        result = talk(kind, llm.base_url)
    assert result.text == TEXT
    assert len(llm.chat_requests) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_cut_after_text_restarts_visibly_then_gives_the_full_text(talk, kind):
    with FakeLLM([Rule(text=TEXT, faults=[Cut(after_events=5)])]) as llm:
        result = talk(kind, llm.base_url)
    assert result.error is None
    [restart] = result.restarts
    assert "broke" in restart.reason
    before = result.chunks[: result.chunks.index(restart)]
    shown = "".join(c.text for c in before)
    assert shown
    assert TEXT.startswith(shown)
    assert shown != TEXT
    assert result.text == TEXT
    assert len(llm.chat_requests) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_retryable_error_event_mid_stream_is_retried(talk, kind):
    with FakeLLM([Rule(text=TEXT, faults=[ErrorEvent(after_events=4)])]) as llm:
        result = talk(kind, llm.base_url)
    assert result.error is None
    assert len(result.restarts) == 1
    assert "Overloaded" in result.restarts[0].reason
    assert result.text == TEXT


@pytest.mark.parametrize("kind", KINDS)
def test_a_fatal_error_event_mid_stream_fails_after_the_text_shown(talk, kind):
    fault = ErrorEvent(
        after_events=4, kind="invalid_request_error", message="prompt too long", code=400
    )
    with FakeLLM([Rule(text=TEXT, faults=[fault])]) as llm:
        result = talk(kind, llm.base_url)
    error = result.error
    assert isinstance(error, ProviderStreamError)
    assert error.retryable is False
    assert result.text  # shown before the error event, and not taken back (no restart)
    assert not result.restarts
    assert "prompt too long" in str(error)
    assert len(llm.chat_requests) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_stall_longer_than_the_read_timeout_is_an_error(talk, kind):
    with FakeLLM([Rule(text=TEXT, faults=[Stall(after_events=1, seconds=30)] * 5)]) as llm:
        result = talk(kind, llm.base_url, read_timeout=0.2, max_attempts=2)
    error = result.error
    assert isinstance(error, ProviderStreamError)
    assert error.retryable is True
    assert "sent nothing for 0.2 s" in str(error)
    assert len(llm.chat_requests) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_stall_then_a_healthy_reply_succeeds(talk, kind):
    with FakeLLM([Rule(text=TEXT, faults=[Stall(after_events=5, seconds=30)])]) as llm:
        result = talk(kind, llm.base_url, read_timeout=0.2)
    assert result.text == TEXT
    assert len(result.restarts) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_connection_refused_names_the_base_url_and_the_setting(talk, kind):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}/v1"
    result = talk(kind, base_url, max_attempts=2)
    error = result.error
    assert type(error) is ProviderError
    assert base_url in str(error)
    assert "COLLET_BASE_URL" in str(error)
    assert "attempt 2 of 2" in str(error)


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_route_fails_at_once_with_a_hint_about_the_base_url(talk, kind):
    with FakeLLM([Rule(text="x")]) as llm:
        result = talk(kind, llm.root_url + "/wrong")
    error = result.error
    assert isinstance(error, ProviderHTTPError)
    assert error.status == 404
    assert "COLLET_BASE_URL" in str(error)
    assert len(llm.requests) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_cancelling_the_consumer_is_never_retried(kind):
    async def go(url):
        provider = make_provider(kind, base_url=url, api_key="k", model="m", trust_env=False)
        started = asyncio.Event()

        async def consume():
            async for _ in provider.stream(user("hi")):
                started.set()

        task = asyncio.create_task(consume())
        try:
            await asyncio.wait_for(started.wait(), 10)
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=10)
        finally:
            await provider.aclose()
        return task in done and task.cancelled()

    with FakeLLM([Rule(text=TEXT, faults=[Stall(after_events=5, seconds=30)])]) as llm:
        assert asyncio.run(asyncio.wait_for(go(llm.base_url), 20))
        assert len(llm.chat_requests) == 1
