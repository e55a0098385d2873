"""Chaos soak: messages sent through the real runner and the real HTTP providers to a loopback
model that fails at random (see chaos.py), with random cancels, removals and retries.

What must hold whatever happened: every accepted message ends in exactly one terminal state;
turns start in sending order; an answered message shows exactly its answer (no piece twice,
none from another message), an unfinished one at most a prefix of it; every failure is a
ColletError the user can act on (no bug, no task dying); and the journal replays to the same
states, errors and context. CI runs 2 × 150 messages; ``--long`` runs 2 × 500.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from pathlib import Path

import pytest

from collet_nb.adapters.journal import JsonlJournal, read_records
from collet_nb.adapters.providers import make_provider
from collet_nb.core.context import ConversationContext
from collet_nb.core.events import (
    AnswerReset,
    ContextCompacted,
    ErrorRaised,
    MessageStateChanged,
    TextDelta,
    ToolResultReady,
)
from collet_nb.core.replay import replay
from collet_nb.core.session import AgentSession
from collet_nb.core.settings import Settings
from collet_nb.errors import UsageError
from collet_nb.runtime.runner import SessionRunner
from tests.reliability.chaos import ChaosScript, Question
from tests.reliability.figures import report
from tests.support.fake_llm import FakeLLM
from tests.support.stand_ins import EchoTools, FakeClock

TERMINAL = ("answered", "failed", "cancelled")
# Failures a user can meet in a soak like this one; anything else is a bug.
EXPECTED_FAILURES = {"ProviderError", "ProviderHTTPError", "ProviderStreamError", "TurnTimeout"}
READ_TIMEOUT = 0.25
MAX_QUEUE = 4
# What the driver does at each step, and how often (a step that cannot act advances).
ACTIONS = ("send", "retry", "cancel", "remove", "advance")
WEIGHTS = (30, 6, 1.5, 1.5, 61)


class Observer:
    """What the views were told, per message."""

    def __init__(self, runner: SessionRunner) -> None:
        self.runner = runner
        self.started: list[str] = []
        self.ended: dict[str, list[str]] = {}
        self.shown: dict[str, str] = {}
        self.errors: Counter[str] = Counter()
        self.resets = 0
        self.compactions = 0
        self.events = 0
        self.tick = asyncio.Event()
        runner.subscribe(self.on_event)

    def on_event(self, event) -> None:
        self.events += 1
        self.tick.set()
        mid = event.message_id
        if isinstance(event, MessageStateChanged):
            if event.state == "running":
                self.started.append(mid)
            elif event.state in TERMINAL:
                self.ended.setdefault(mid, []).append(event.state)
        elif isinstance(event, TextDelta):
            self.shown[mid] = self.shown.get(mid, "") + event.text
        elif isinstance(event, (AnswerReset, ToolResultReady)):
            # A reset voids the reply shown so far; the tool-call reply carries no text.
            self.resets += isinstance(event, AnswerReset)
            self.shown[mid] = ""
        elif isinstance(event, ErrorRaised):
            self.errors[event.kind] += 1
        elif isinstance(event, ContextCompacted):
            self.compactions += 1

    async def advance(self, events: int, timeout: float = 2.0) -> None:
        """Let the session run for ``events`` more events (bounded; at once when idle)."""
        target = self.events + events
        deadline = time.monotonic() + timeout
        await asyncio.sleep(0)  # one loop turn at least: a just-sent message starts
        while self.events < target and self.runner.session.busy:
            self.tick.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(self.tick.wait(), left)
            except TimeoutError:
                return


async def soak(tmp_path: Path, protocol: str, messages: int, seed: int) -> dict:
    script = ChaosScript(seed)
    rng = random.Random(seed + 1)
    llm = FakeLLM().start()
    journal = JsonlJournal(tmp_path / f"{protocol}.jsonl")
    provider = make_provider(
        protocol,
        base_url=llm.base_url,
        api_key="sk-chaos-test-key",
        model="fake-model",
        idle_timeout=READ_TIMEOUT,
        max_retries=2,
        retry_wait_initial=0.001,
        retry_wait_max=0.01,
        retry_wait_jitter=0.0,
        trust_env=False,
    )
    runner = SessionRunner(
        session=AgentSession(
            session_id=f"chaos-{protocol}",
            project_dir=str(tmp_path),
            # Small: the conversation is compacted every few dozen messages.
            context=ConversationContext(system_prompt="", budget=1000),
        ),
        settings=Settings(max_iterations=4, circuit_breaker=3, task_timeout=0.7),
        provider=provider,
        tools=EchoTools(),
        journal=journal,
        clock=FakeClock(),
    )
    seen = Observer(runner)
    asked: dict[str, Question] = {}  # message id → its question
    actions: Counter[str] = Counter()
    started = time.monotonic()
    try:
        while len(asked) < messages:
            queued = runner.session.queue()
            action = rng.choices(ACTIONS, weights=WEIGHTS)[0]
            if action == "send" and len(queued) < MAX_QUEUE:
                question, rules = script.new_question()
                for rule in rules:
                    llm.add(rule)
                asked[runner.send(question.text).id] = question
            elif action == "retry":
                try:
                    msg = runner.retry()
                except UsageError:
                    continue
                asked[msg.id] = asked[msg.retry_of or ""]
            elif action == "cancel":
                runner.cancel()
            elif action == "remove" and queued:
                runner.remove(rng.choice(queued).id)
            else:
                action = "advance"
                await seen.advance(rng.randint(1, 40))
            actions[action] += 1
        await asyncio.wait_for(runner.wait_idle(), 60)
    finally:
        await runner.aclose()
        llm.close()
    elapsed = time.monotonic() - started
    check(runner, seen, asked, journal)
    states = Counter(m.state.value for m in runner.session.messages)
    served = script.faults_served(llm.chat_requests)
    assert served["unmatched"] == 0
    return {
        "messages": len(asked),
        "retries": actions["retry"],
        "cancels": actions["cancel"],
        "removals": actions["remove"],
        "terminal_states": dict(states),
        "requests": len(llm.chat_requests),
        "faults_injected": {k: served[k] for k in ChaosScript.FAULT_KINDS},
        "malformed_streams": served["malformed_streams"],
        "slow_streams": served["slow_streams"],
        "answer_resets": seen.resets,
        "failures_by_kind": dict(seen.errors),
        "compactions": seen.compactions,
        "seconds": round(elapsed, 1),
    }


def check(runner: SessionRunner, seen: Observer, asked: dict[str, Question], journal) -> None:
    log = runner.session.messages
    assert [m.id for m in log] == list(asked)
    for m in log:
        assert m.state.value in TERMINAL, (m.id, m.state)
        assert seen.ended.get(m.id) == [m.state.value], (m.id, seen.ended.get(m.id))
        shown, answer = seen.shown.get(m.id, ""), asked[m.id].answer
        if m.state.value == "answered":
            assert shown == answer, (m.id, shown, answer)
        else:
            assert answer.startswith(shown), (m.id, shown, answer)
        if m.state.value == "failed":
            assert m.error
    seqs = [int(i[1:]) for i in seen.started]
    assert seqs == sorted(set(seqs)), "turns did not start in sending order"
    assert set(seen.errors) <= EXPECTED_FAILURES, seen.errors
    # No assistant text in the context holds anything but one whole answer, or a prefix of
    # one that was cancelled.
    answers = {q.answer for q in asked.values()}
    for message in runner.session.context.messages:
        if message.role == "assistant" and message.content:
            text = message.content.removesuffix("\n\n[cancelled by the user]")
            assert text in answers or any(a.startswith(text) for a in answers), text
    journal.close()
    image = replay(read_records(journal.path))
    assert {m.id: m.state for m in image.messages} == {m.id: m.state for m in log}
    assert {m.id: m.error for m in image.messages} == {m.id: m.error for m in log}
    assert image.context == runner.session.context.messages
    assert not image.skipped


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
def test_every_message_ends_once_in_order_without_duplicated_text_under_chaos(
    tmp_path, protocol, long_run, caplog
):
    messages = 500 if long_run else 150
    seed = 20261 if protocol == "openai" else 20262
    loop_errors: list[str] = []

    async def main() -> dict:
        asyncio.get_running_loop().set_exception_handler(
            lambda _loop, context: loop_errors.append(str(context))
        )
        return await soak(tmp_path, protocol, messages, seed)

    with caplog.at_level(logging.ERROR, logger="collet_nb"):
        figures = asyncio.run(asyncio.wait_for(main(), 900))
    report(f"chaos soak ({protocol})", **figures)
    assert loop_errors == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    # The soak exercised what it claims to.
    assert all(figures["faults_injected"][k] > 0 for k in ("429", "500", "cut", "stall"))
    assert set(figures["terminal_states"]) == set(TERMINAL)
