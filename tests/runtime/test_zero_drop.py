"""Zero-drop, as a property: random sends, cancels, retries, removals and provider failures.

Drives the real runner (real JSONL journal on disk) over hundreds of steps and checks what a
user would notice: every sent message ends in exactly one terminal state, turns start in
sending order, nothing disappears, and the journal replays to the same states and context.
"""

import asyncio
import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from collet_nb.adapters.journal import JsonlJournal, read_records
from collet_nb.core.context import ConversationContext
from collet_nb.core.events import MessageStateChanged
from collet_nb.core.replay import replay
from collet_nb.core.session import AgentSession
from collet_nb.core.settings import Settings
from collet_nb.errors import ProviderError, UsageError
from collet_nb.runtime.runner import SessionRunner
from tests.support.stand_ins import (
    EchoTools,
    FakeClock,
    FunctionModel,
    answered_tools,
    call,
    last_user,
    text,
)

TERMINAL = {"answered", "failed", "cancelled"}


class ZeroDrop(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.loop_errors: list[str] = []
        self.loop.set_exception_handler(lambda _loop, ctx: self.loop_errors.append(str(ctx)))
        self.dir = Path(tempfile.mkdtemp(prefix="collet-zd-"))
        self.journal = JsonlJournal(self.dir / "s.jsonl")
        self.failures_ahead = 0
        self.model = FunctionModel(self.reply)
        self.runner = SessionRunner(
            session=AgentSession(
                session_id="zd",
                project_dir=str(self.dir),
                context=ConversationContext(system_prompt="", budget=100_000),
            ),
            settings=Settings(max_iterations=4, circuit_breaker=2),
            provider=self.model,
            tools=EchoTools(),
            journal=self.journal,
            clock=FakeClock(),
        )
        self.sent: list[str] = []
        self.started: list[str] = []
        self.ended: dict[str, list[str]] = {}
        self.runner.subscribe(self.observe)

    def reply(self, request):
        if self.failures_ahead:
            self.failures_ahead -= 1
            return ProviderError("scripted provider failure")
        prompt = last_user(request)
        if prompt.startswith("tool") and answered_tools(request) == 0:
            return [call("echo", {"text": prompt})]
        if prompt.startswith("broken"):
            return [call("fail", call_id=f"f{answered_tools(request)}")]
        return text("re: ", prompt)

    def observe(self, event) -> None:
        if isinstance(event, MessageStateChanged):
            if event.state == "running":
                self.started.append(event.message_id)
            elif event.state in TERMINAL:
                self.ended.setdefault(event.message_id, []).append(event.state)

    def spin(self, steps: int) -> None:
        for _ in range(steps):
            self.loop.run_until_complete(asyncio.sleep(0))

    async def _send(self, text_: str) -> str:
        return self.runner.send(text_).id

    @rule(kind=st.sampled_from(["plain", "tool", "broken"]), n=st.integers(0, 99))
    def send(self, kind: str, n: int) -> None:
        self.sent.append(self.loop.run_until_complete(self._send(f"{kind} {n}")))

    @rule(steps=st.integers(1, 30))
    def advance(self, steps: int) -> None:
        self.spin(steps)

    @rule()
    def cancel(self) -> None:
        self.runner.cancel()
        assert all(m.state.terminal for m in self.runner.session.messages)

    @rule(count=st.integers(1, 3))
    def provider_fails(self, count: int) -> None:
        self.failures_ahead += count

    @rule()
    def retry(self) -> None:
        async def go() -> str | None:
            try:
                return self.runner.retry().id
            except UsageError:
                assert self.runner.session.messages.last_failed() is None
                return None

        new_id = self.loop.run_until_complete(go())
        if new_id is not None:
            self.sent.append(new_id)

    @precondition(lambda self: bool(self.runner.status()["pending_tools"]))
    @rule(allow=st.booleans(), for_session=st.booleans())
    def decide(self, allow: bool, for_session: bool) -> None:
        assert self.runner.session.state.value == "awaiting_approval"
        if allow:
            self.runner.allow(for_session=for_session)
        else:
            self.runner.deny(reason="not now")

    @precondition(lambda self: bool(self.runner.session.queue()))
    @rule(data=st.data())
    def remove_queued(self, data) -> None:
        queued = self.runner.session.queue()
        self.runner.remove(data.draw(st.sampled_from(queued)).id)

    @invariant()
    def every_message_is_accounted_for(self) -> None:
        log = self.runner.session.messages
        assert [m.id for m in log] == self.sent
        assert sum(1 for m in log if m.state.value == "running") <= 1
        for m in log:
            ends = self.ended.get(m.id, [])
            assert len(ends) <= 1, f"{m.id} ended twice: {ends}"
            if m.state.terminal:
                assert ends == [m.state.value]
            if m.state.value == "failed":
                assert m.error

    @invariant()
    def no_task_dies_with_an_error(self) -> None:
        assert self.loop_errors == []

    @invariant()
    def turns_start_in_sending_order(self) -> None:
        seqs = [int(i[1:]) for i in self.started]
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == len(seqs)

    def teardown(self) -> None:
        try:
            while (
                self.loop.run_until_complete(asyncio.wait_for(self.runner.wait_idle(), 10)).value
                == "awaiting_approval"
            ):
                self.runner.allow()
            log = self.runner.session.messages
            assert all(m.state.value in TERMINAL for m in log)
            assert sorted(self.ended) == sorted(self.sent)
            self.journal.close()
            image = replay(read_records(self.journal.path))
            assert {m.id: m.state for m in image.messages} == {m.id: m.state for m in log}
            assert {m.id: m.error for m in image.messages} == {m.id: m.error for m in log}
            assert image.context == self.runner.session.context.messages
            assert not image.skipped
        finally:
            self.loop.run_until_complete(self.runner.aclose())
            self.loop.close()
            shutil.rmtree(self.dir, ignore_errors=True)


ZeroDrop.TestCase.settings = settings(max_examples=40, stateful_step_count=250, deadline=None)
test_zero_drop = ZeroDrop.TestCase
