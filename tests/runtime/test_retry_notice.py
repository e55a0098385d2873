"""A provider's retry reaches the views as a ``retry_wait`` event (reason, attempt k of n, an
absolute ``until`` to count down to), over real HTTP; Cancel during the wait ends the turn at
once."""

import asyncio
import json
import time

import pytest

from collet_nb.adapters.providers import make_provider
from collet_nb.core.events import Event, MessageStateChanged, RetryWaiting, TextDelta
from collet_nb.core.kinds import ChannelId
from collet_nb.core.settings import Settings
from collet_nb.runtime.hub import SessionHub
from tests.support.fake_llm import Fail, FakeLLM, Rule


def run_turn(tmp_path, kind, rule, *, cancel_on_retry=False):
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    with FakeLLM([rule]) as llm:

        async def main():
            provider = make_provider(kind, base_url=llm.base_url, api_key="sk-k", model="m")
            hub = SessionHub(
                settings=lambda _p: Settings(
                    home=str(tmp_path / "home"), approval="yolo", provider=kind
                ),
                project_dir=project,
                provider_factory=lambda _s: provider,
            )
            runner = hub.runner(ChannelId.new("jupyter", "nb.ipynb"))
            seen: list[tuple[float, Event]] = []

            def listen(event: Event) -> None:
                seen.append((time.time(), event))
                if cancel_on_retry and isinstance(event, RetryWaiting):
                    runner.cancel()

            runner.subscribe(listen)
            started = time.monotonic()
            runner.send("hello")
            await asyncio.wait_for(runner.wait_idle(), 30)
            took = time.monotonic() - started
            await hub.aclose()
            return seen, took

        seen, took = asyncio.run(main())
        requests = len(llm.chat_requests)
    return seen, took, requests


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_a_rate_limit_reaches_the_views_as_a_countdown_then_the_answer(tmp_path, kind):
    rule = Rule(text="Hello there.", faults=[Fail(status=429, retry_after="0.5")])
    seen, _took, requests = run_turn(tmp_path, kind, rule)
    [(at, retry)] = [(t, e) for t, e in seen if isinstance(e, RetryWaiting)]
    assert retry.reason == "rate limited (HTTP 429)"
    assert (retry.attempt, retry.attempts) == (2, 5)
    assert retry.wait_s == 0.5
    assert retry.until == pytest.approx(at + 0.5, abs=0.1)  # a view can count down alone
    assert "HTTP 429" in retry.detail
    assert "sk-k" not in retry.detail
    texts = [t for t, e in seen if isinstance(e, TextDelta)]
    assert texts
    assert min(texts) >= retry.until - 0.05  # the answer came after the wait
    assert "".join(e.text for _, e in seen if isinstance(e, TextDelta)) == "Hello there."
    assert requests == 2
    data = retry.to_dict()
    assert json.loads(json.dumps(data)) == {
        "type": "retry_wait",
        "message_id": retry.message_id,
        "reason": "rate limited (HTTP 429)",
        "detail": retry.detail,
        "wait_s": 0.5,
        "until": retry.until,
        "attempt": 2,
        "attempts": 5,
    }


def test_cancel_during_the_wait_ends_the_turn_at_once(tmp_path):
    rule = Rule(text="never", faults=[Fail(status=503, retry_after="20")])
    seen, took, requests = run_turn(tmp_path, "openai", rule, cancel_on_retry=True)
    [retry_at] = [t for t, e in seen if isinstance(e, RetryWaiting)]
    [(ended_at, end)] = [(t, e) for t, e in seen if isinstance(e, MessageStateChanged)][-1:]
    assert end.state == "cancelled"
    assert ended_at - retry_at < 0.5  # not the 20 s the server asked for
    assert took < 2.0  # the turn task is gone too: the runner went idle
    assert requests == 1
