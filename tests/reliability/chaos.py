"""The chaos script: questions with known answers, and a loopback model that answers them
through random faults (429, 500, 529, cut streams, in-stream errors, dropped connections,
stalls past the read timeout) and malformed SSE lines, all drawn from one seeded RNG.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tests.support.fake_llm import (
    Cut,
    Drop,
    ErrorEvent,
    Fail,
    FakeToolCall,
    Fault,
    RecordedRequest,
    Rule,
    Stall,
)

# Seconds a stalled reply stays silent: well past the provider's read timeout in the soak.
STALL_SECONDS = 1.0
# Seconds between the events of a slow stream (under the read timeout, so only the task
# timeout can stop it).
SLOW_GAP = 0.1
WORDS = ("alpha", "bêta", "gamma", "δέλτα", "epsilon", "日本語", "zeta", "ёлка", "theta", "—")


@dataclass(frozen=True, kw_only=True)
class Question:
    """One thing the driver asks (sent once, and again for each retry).

    Attributes:
        tag: unique marker in the text, e.g. ``[q17]``.
        kind: ``plain`` (a text answer) or ``tool`` (an echo call, then the answer).
        answer: the exact final answer the model gives.
    """

    tag: str
    kind: str
    answer: str

    @property
    def text(self) -> str:
        return f"{self.kind} question {self.tag}"


def last_message(request: RecordedRequest) -> tuple[str, str]:
    """(``user`` | ``tool`` | other role, text) of what a request ends with; cheap on purpose
    (the soak's rule list is long and every rule looks at every request).

    Anthropic merges consecutive user turns (a tool result and the next question, or a
    question cancelled before any reply and the next one) into one message: its last block
    is what the request ends with.
    """
    body = request.body if isinstance(request.body, Mapping) else {}
    messages = body.get("messages") or [{}]
    message = messages[-1] if isinstance(messages[-1], Mapping) else {}
    role, content = str(message.get("role", "")), message.get("content")
    if isinstance(content, str) or content is None:
        return role, content or ""
    blocks = [b for b in content if isinstance(b, Mapping)]
    if not blocks:
        return role, ""
    last = blocks[-1]
    if last.get("type") != "tool_result":
        return role, str(last.get("text", ""))
    inner = last.get("content", "")
    if not isinstance(inner, str):
        inner = "".join(str(b.get("text", "")) for b in inner if isinstance(b, Mapping))
    return "tool", inner


def _asks(role: str, tag: str) -> Any:
    def match(request: RecordedRequest) -> bool:
        found, text = last_message(request)
        return found == role and tag in text

    return match


class ChaosScript:
    """Questions and the fake model's rules for them.

    Args:
        seed: the RNG seed (the whole soak is reproducible from it).
        fault_rate: the chance that any one request is spoiled.
    """

    FAULT_KINDS = ("429", "500", "529", "cut", "error_event", "drop", "stall")

    def __init__(self, seed: int, *, fault_rate: float = 0.3) -> None:
        self.rng = random.Random(seed)
        self.fault_rate = fault_rate
        self.questions: list[Question] = []
        self.rules: list[Rule] = []
        self._fault_kinds: dict[int, list[str]] = {}  # id(rule) → kind of each scripted fault

    def new_question(self) -> tuple[Question, list[Rule]]:
        """A fresh question and the rules that answer it."""
        rng = self.rng
        n = len(self.questions) + 1
        kind = rng.choice(("plain", "plain", "tool"))
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
        question = Question(tag=f"[q{n}]", kind=kind, answer=f"Answer to [q{n}]: {words}.")
        self.questions.append(question)
        if kind == "plain":
            rules = [self._rule(_asks("user", question.tag), text=question.answer)]
        else:
            call = FakeToolCall(name="echo", arguments={"text": question.tag})
            rules = [
                self._rule(_asks("user", question.tag), tool_calls=[call]),
                self._rule(_asks("tool", question.tag), text=question.answer),
            ]
        self.rules.extend(rules)
        return question, rules

    def _rule(self, match: Any, **reply: Any) -> Rule:
        rng = self.rng
        kinds = [
            rng.choice(self.FAULT_KINDS) if rng.random() < self.fault_rate else "" for _ in range(8)
        ]
        quirks = {"malformed"} if rng.random() < 0.2 else set()
        if rng.random() < 0.2:
            quirks.add("split_utf8")
        # A slow stream: every gap within the read timeout, the whole past the task timeout.
        gap = SLOW_GAP if rng.random() < 0.01 else 0.0
        rule = Rule(
            match=match,
            faults=[self._fault(k) for k in kinds],
            quirks=quirks,
            chunk_size=rng.randint(2, 9),
            gap=gap,
            **reply,
        )
        self._fault_kinds[id(rule)] = kinds
        return rule

    def _fault(self, kind: str) -> Fault | None:
        after = self.rng.randint(0, 6)
        return {
            "": None,
            "429": Fail(status=429, retry_after="0"),
            "500": Fail(status=500),
            "529": Fail(status=529, message="Overloaded"),
            "cut": Cut(after_events=after),
            "error_event": ErrorEvent(after_events=after),
            "drop": Drop(),
            "stall": Stall(after_events=after, seconds=STALL_SECONDS),
        }[kind]

    def faults_served(self, requests: list[RecordedRequest]) -> Counter[str]:
        """How many faults of each kind the model actually served for ``requests`` (replaying
        the server's first-match choice), plus ``healthy``, ``malformed_streams`` and
        ``slow_streams``."""
        served: Counter[str] = Counter()
        hits: Counter[int] = Counter()
        for request in requests:
            rule = next((r for r in self.rules if r.matches(request)), None)
            if rule is None:
                served["unmatched"] += 1
                continue
            kinds = self._fault_kinds[id(rule)]
            used = hits[id(rule)]
            hits[id(rule)] += 1
            served[(kinds[used] if used < len(kinds) else "") or "healthy"] += 1
            if "malformed" in rule.quirks:
                served["malformed_streams"] += 1
            if rule.gap:
                served["slow_streams"] += 1
        return served
