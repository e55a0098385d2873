"""Failures against the loopback server: statuses, retries, cut streams, error events, stalls,
and the bounds on all of them (retry budget, idle timeout, one quick retry when unreachable)."""

import asyncio
import time
from collections.abc import Callable

import pytest

from collet_nb.adapters.providers import make_provider
from collet_nb.adapters.providers.http_provider import backoff
from collet_nb.core.ports import RetryChunk, TextChunk
from collet_nb.errors import ProviderError, ProviderHTTPError, ProviderStreamError
from tests.adapters.providers.conftest import free_port_url, user
from tests.support.fake_llm import Cut, Drop, ErrorEvent, Fail, FakeLLM, Rule, Stall

KINDS = ["openai", "anthropic"]
TEXT = "Hello, world! How are you today?"


@pytest.mark.parametrize("kind", KINDS)
def test_a_429_is_retried_after_the_wait_the_server_asks_for(talk, kind):
    with FakeLLM([Rule(text=TEXT, faults=[Fail(status=429, retry_after="0.05")])]) as llm:
        result = talk(kind, llm.base_url)
    assert result.error is None
    assert result.text == TEXT
    assert len(llm.chat_requests) == 2
    assert result.waits == [pytest.approx(0.05)]


def test_retry_after_ms_is_honoured(talk):
    fault = Fail(status=429, headers={"retry-after-ms": "20"})
    with FakeLLM([Rule(text="ok", faults=[fault])]) as llm:
        result = talk("openai", llm.base_url)
    assert result.text == "ok"
    assert result.waits == [pytest.approx(0.02)]


@pytest.mark.parametrize("kind", KINDS)
def test_a_429_with_retry_after_2_waits_2_s_says_so_first_then_answers(talk, kind):
    with FakeLLM([Rule(text=TEXT, faults=[Fail(status=429, retry_after="2")])]) as llm:
        before = time.time()
        result = talk(kind, llm.base_url, fast=False)
    assert result.error is None
    assert result.text == TEXT
    assert 2.0 <= result.elapsed < 4.0
    [retry] = result.retries
    assert result.chunks[0] == retry  # said before the wait, not after
    assert retry.reason == "rate limited (HTTP 429)"
    assert retry.wait_s == 2.0
    assert before + 2.0 <= retry.until <= time.time()
    assert (retry.attempt, retry.attempts) == (2, 5)
    assert "HTTP 429" in retry.detail


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
def test_max_retries_counts_retries_after_the_first_attempt(talk, kind):
    with FakeLLM([Rule(text="never", faults=[Fail(status=503)] * 10)]) as llm:
        result = talk(kind, llm.base_url, max_retries=2)
    error = result.error
    assert isinstance(error, ProviderHTTPError)
    assert error.status == 503
    assert error.retryable is True
    assert "3 attempts in" in str(error)
    assert "COLLET_MAX_RETRIES (now 2)" in str(error)
    assert len(llm.chat_requests) == 3
    assert [(r.attempt, r.attempts) for r in result.retries] == [(2, 3), (3, 3)]


def test_no_retries_means_one_attempt(talk):
    with FakeLLM([Rule(text="never", faults=[Fail(status=503)] * 3)]) as llm:
        result = talk("openai", llm.base_url, max_retries=0)
    assert isinstance(result.error, ProviderHTTPError)
    assert result.retries == []
    assert len(llm.chat_requests) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_503_after_503_fails_within_the_retry_budget(talk, kind):
    waits = {"retry_wait_initial": 0.2, "retry_wait_max": 10.0, "retry_wait_jitter": 0.0}
    with FakeLLM([Rule(text="never", faults=[Fail(status=503)] * 50)]) as llm:
        result = talk(kind, llm.base_url, fast=False, retry_budget=1.0, max_retries=50, **waits)
    error = result.error
    assert isinstance(error, ProviderHTTPError)
    assert error.retryable is True
    # Waits of 0.2 and 0.4 s fit in 1 s; the next, 0.8 s, would end past it.
    assert result.waits == [pytest.approx(0.2), pytest.approx(0.4)]
    assert result.elapsed < 1.0
    assert len(llm.chat_requests) == 3
    assert "COLLET_RETRY_BUDGET (now 1 s)" in str(error)


def test_a_retry_after_beyond_the_budget_fails_at_once_and_says_why(talk):
    with FakeLLM([Rule(text="never", faults=[Fail(status=429, retry_after="3600")])]) as llm:
        result = talk("openai", llm.base_url)
    error = result.error
    assert isinstance(error, ProviderHTTPError)
    assert error.retry_after == 3600
    assert "asks to wait 3600 s" in str(error)
    assert "COLLET_RETRY_BUDGET" in str(error)
    assert result.retries == []
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
    assert isinstance(before[-1], RetryChunk)  # the notice, then the wait, then the restart
    shown = "".join(c.text for c in before if isinstance(c, TextChunk))
    assert shown
    assert TEXT.startswith(shown)
    assert shown != TEXT
    assert result.text == TEXT
    assert len(llm.chat_requests) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_reply_cut_after_streaming_longer_than_the_budget_is_still_retried(talk, kind):
    # The budget counts time spent failing: from the last byte received, not from the start.
    rule = Rule(text="word " * 40, chunk_size=5, gap=0.015, faults=[Cut(after_events=25)])
    with FakeLLM([rule]) as llm:
        result = talk(kind, llm.base_url, retry_budget=0.2)
    assert result.error is None
    assert len(result.restarts) == 1
    assert result.text == "word " * 40
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
def test_a_stall_longer_than_the_idle_timeout_is_an_error(talk, kind):
    with FakeLLM([Rule(text=TEXT, faults=[Stall(after_events=1, seconds=30)] * 5)]) as llm:
        result = talk(kind, llm.base_url, idle_timeout=0.2, max_retries=1)
    error = result.error
    assert isinstance(error, ProviderStreamError)
    assert error.retryable is True
    assert "sent nothing for 0.2 s while streaming its reply" in str(error)
    assert "COLLET_REQUEST_TIMEOUT (now 0.2 s)" in str(error)
    assert len(llm.chat_requests) == 2


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("fault", "delay", "when"),
    [(Stall(after_events=2, seconds=30), 0.0, "while streaming"), (None, 30.0, "before answering")],
)
def test_a_stall_is_reported_at_the_idle_timeout(talk, kind, fault, delay, when):
    rule = Rule(text=TEXT, delay=delay, faults=[fault] * 3)
    with FakeLLM([rule]) as llm:
        # The budget as long as the idle timeout, as by default (30 s and 30 s): no retry fits.
        result = talk(kind, llm.base_url, idle_timeout=0.5, retry_budget=0.5)
    error = result.error
    assert isinstance(error, ProviderStreamError)
    assert error.retryable is True
    assert 0.5 <= result.elapsed < 1.5
    assert when in str(error)
    assert "COLLET_REQUEST_TIMEOUT" in str(error)
    assert len(llm.chat_requests) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_stall_then_a_healthy_reply_succeeds(talk, kind):
    with FakeLLM([Rule(text=TEXT, faults=[Stall(after_events=5, seconds=30)])]) as llm:
        result = talk(kind, llm.base_url, idle_timeout=0.2)
    assert result.text == TEXT
    assert len(result.restarts) == 1
    [retry] = result.retries
    assert retry.reason == "no data for 0.2 s"


@pytest.mark.parametrize("kind", KINDS)
def test_connection_refused_fails_within_10_s_after_one_quick_retry(talk, kind):
    base_url = free_port_url()
    result = talk(kind, base_url, fast=False)  # the production waits and budget
    error = result.error
    assert type(error) is ProviderError
    assert error.retryable is True
    assert result.elapsed < 10.0
    [retry] = result.retries
    assert retry.reason == "connection refused"
    assert (retry.attempt, retry.attempts) == (2, 2)
    assert base_url in str(error)
    assert "connection refused" in str(error)
    assert "2 attempts in" in str(error)
    assert "COLLET_BASE_URL" in str(error)


def test_an_unknown_host_fails_within_10_s_after_one_quick_retry(talk):
    result = talk("openai", "http://no-such-host.invalid/v1", fast=False)
    error = result.error
    assert type(error) is ProviderError
    assert result.elapsed < 10.0
    assert len(result.retries) == 1
    assert "host not found" in str(error)
    assert "COLLET_BASE_URL" in str(error)


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_route_fails_at_once_with_a_hint_about_the_base_url(talk, kind):
    with FakeLLM([Rule(text="x")]) as llm:
        result = talk(kind, llm.root_url + "/wrong")
    error = result.error
    assert isinstance(error, ProviderHTTPError)
    assert error.status == 404
    assert "COLLET_BASE_URL" in str(error)
    assert len(llm.requests) == 1


def cancel_once(kind: str, url: str, when: Callable[[object], bool]) -> tuple[bool, float]:
    """Stream from ``url`` and cancel the consumer at the first chunk ``when`` accepts: whether
    the task ended cancelled, and how many seconds that took."""

    async def go():
        provider = make_provider(kind, base_url=url, api_key="k", model="m", trust_env=False)
        seen = asyncio.Event()

        async def consume():
            async for chunk in provider.stream(user("hi")):
                if when(chunk):
                    seen.set()

        task = asyncio.create_task(consume())
        try:
            await asyncio.wait_for(seen.wait(), 10)
            cancelled_at = time.monotonic()
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=10)
            took = time.monotonic() - cancelled_at
        finally:
            await provider.aclose()
        return task in done and task.cancelled(), took

    return asyncio.run(asyncio.wait_for(go(), 20))


@pytest.mark.parametrize("kind", KINDS)
def test_cancel_during_a_retry_wait_ends_at_once(kind):
    with FakeLLM([Rule(text=TEXT, faults=[Fail(status=429, retry_after="20")])]) as llm:
        cancelled, took = cancel_once(kind, llm.base_url, lambda c: isinstance(c, RetryChunk))
        assert len(llm.chat_requests) == 1
    assert cancelled
    assert took < 0.5


def test_an_event_past_the_size_cap_fails_at_once_and_says_what_to_do(talk):
    with FakeLLM([Rule(text="x" * 5000, chunk_size=5000)]) as llm:
        result = talk("openai", llm.base_url, max_event_bytes=1024)
    error = result.error
    assert isinstance(error, ProviderStreamError)
    assert error.retryable is False
    assert "larger than" in str(error)
    assert len(llm.chat_requests) == 1


def test_the_backoff_doubles_from_its_first_wait_up_to_its_cap_plus_jitter():
    plain = [backoff(n, initial=0.5, maximum=5.0, jitter=0.0) for n in range(1, 7)]
    assert plain == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    jittered = [backoff(3, initial=0.5, maximum=30.0, jitter=1.0) for _ in range(200)]
    assert all(2.0 <= wait <= 3.0 for wait in jittered)
    assert len(set(jittered)) > 100
    assert backoff(5000, initial=0.5, maximum=7.0, jitter=0.0) == 7.0


@pytest.mark.parametrize("kind", KINDS)
def test_cancelling_the_consumer_is_never_retried(kind):
    with FakeLLM([Rule(text=TEXT, faults=[Stall(after_events=5, seconds=30)])]) as llm:
        cancelled, _took = cancel_once(kind, llm.base_url, lambda _chunk: True)
        assert cancelled
        assert len(llm.chat_requests) == 1
