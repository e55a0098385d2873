"""The bench's LLM: the tests' loopback SSE server (OpenAI chat completions), in its own
process so it never competes with the measured code for the GIL, and the answers it streams.

Which answer a request gets depends on the last user message: ``long answer`` → the Markdown
answer of ``--tokens`` tokens, in 14-character events ``--gap`` seconds apart; ``paced
answer`` → the same Markdown of ``--paced-tokens`` tokens, ``--paced-gap`` seconds apart (a
real model's pace); ``first token`` → a short answer after ``--delay`` seconds; anything else
→ ``ok.``

    .venv/bin/python bench/loopback.py [--tokens 10000] [--gap 0] [--delay 0.2]
                                       [--paced-tokens 1000] [--paced-gap 0.04]
    # prints the base URL, serves until its stdin closes
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHUNK = 14  # characters per SSE event: about 4 tokens, like real providers
CHARS_PER_TOKEN = 3.5
FIRST_ANSWER = "Hello from the loopback server. This is the whole answer."
FIRST_WORD = "Hello"
# Every sentence and list item of the long answer carries one numbered word, so the bench can
# tell when each piece of text reached the browser (Markdown rendering keeps plain words).
MARKER = re.compile(r"\bk\d{5}\b")
_WORDS = (
    *("the", "agent", "reads", "the", "file", "then", "edits", "one", "function", "and"),
    *("runs", "the", "tests", "again", "before", "it", "writes", "the", "summary"),
)


def make_answer(tokens: int) -> str:
    """Markdown of about ``tokens`` tokens: paragraphs, lists and code, with markers."""
    parts: list[str] = []
    size, n, marker = 0, 0, 0

    def mark() -> str:
        nonlocal marker
        marker += 1
        return f"k{marker:05d}"

    while size < tokens * CHARS_PER_TOKEN:
        n += 1
        if n % 7 == 0:
            block = "```python\n" + "\n".join(f"x_{i} = compute({i})" for i in range(6)) + "\n```"
        elif n % 5 == 0:
            block = "\n".join(
                f"- step {i}: {mark()} {' '.join(_WORDS[i : i + 6])}" for i in range(4)
            )
        else:
            sentences = []
            for s in range(4):
                words = [_WORDS[(n + s + i) % len(_WORDS)] for i in range(14)]
                sentences.append(f"{words[0].capitalize()} {mark()} {' '.join(words[1:])}.")
            block = " ".join(sentences)
        parts.append(block)
        size += len(block) + 2
    return "\n\n".join(parts)


def tokens_of(text: str) -> float:
    """The bench's token estimate of ``text`` (characters / 3.5, as the package estimates)."""
    return len(text) / CHARS_PER_TOKEN


class LoopbackServer:
    """``bench/loopback.py`` as a child process; a context manager that yields its base URL.

    Closing its stdin stops it; ``__exit__`` waits for it (and kills it after 10 s).
    """

    def __init__(
        self,
        *,
        tokens: int,
        gap: float = 0.0,
        delay: float = 0.2,
        paced_tokens: int = 1000,
        paced_gap: float = 0.04,
    ) -> None:
        self.args = ["--tokens", str(tokens), "--gap", str(gap), "--delay", str(delay)]
        self.args += ["--paced-tokens", str(paced_tokens), "--paced-gap", str(paced_gap)]
        self.process: subprocess.Popen[str] | None = None
        self.base_url = ""

    def __enter__(self) -> LoopbackServer:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *self.args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("http://"):
            self.__exit__(None, None, None)
            raise RuntimeError(f"the loopback server did not start (it printed {line!r})")
        self.base_url = line
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def main() -> None:
    from tests.support.fake_llm import FakeLLM, Rule

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=10_000)
    parser.add_argument("--gap", type=float, default=0.0, help="seconds between events")
    parser.add_argument("--delay", type=float, default=0.2, help="seconds before 'first token'")
    parser.add_argument("--paced-tokens", type=int, default=1000)
    parser.add_argument("--paced-gap", type=float, default=0.04, help="seconds between events")
    args = parser.parse_args()
    rules = [
        Rule(contains="long answer", text=make_answer(args.tokens), chunk_size=CHUNK, gap=args.gap),
        Rule(
            contains="paced answer",
            text=make_answer(args.paced_tokens),
            chunk_size=CHUNK,
            gap=args.paced_gap,
        ),
        Rule(contains="first token", text=FIRST_ANSWER, chunk_size=CHUNK, delay=args.delay),
        Rule(text="ok."),
    ]
    with FakeLLM(rules) as llm:
        print(llm.base_url, flush=True)
        sys.stdin.read()  # until the parent closes our stdin (or dies)


if __name__ == "__main__":
    main()
