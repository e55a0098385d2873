"""The delta coalescer: when it shows text, what it sends once, and its O(n) byte bound."""

import html
import random
import re
from dataclasses import dataclass, field

import pytest

from collet_nb.ui.render import markdown_html
from collet_nb.ui.stream import (
    FLUSH_INTERVAL,
    TAIL_BUDGET_RATIO,
    TAIL_BUDGET_START,
    DeltaCoalescer,
    Seal,
    find_seal,
)


@dataclass
class Timer:
    due: float
    callback: object
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class FakeScheduler:
    """``loop.call_later`` on a clock the test moves."""

    now: float = 0.0
    timers: list[Timer] = field(default_factory=list)

    def __call__(self, delay, callback):
        timer = Timer(self.now + delay, callback)
        self.timers.append(timer)
        return timer

    @property
    def pending(self) -> list[Timer]:
        return [t for t in self.timers if not t.cancelled]

    def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [t for t in self.pending if t.due <= self.now + 1e-9]
        self.timers = [t for t in self.pending if t not in due]
        for t in due:
            t.callback()


@dataclass
class Sink:
    blocks: list[str] = field(default_factory=list)
    tail: str = ""
    tail_updates: int = 0
    clears: int = 0

    def append_block(self, html: str) -> None:
        self.blocks.append(html)

    def set_tail(self, html: str) -> None:
        self.tail = html
        self.tail_updates += 1

    def clear(self) -> None:
        self.blocks.clear()
        self.tail = ""
        self.clears += 1

    def shown(self) -> str:
        return "".join(self.blocks) + self.tail


def visible_words(markup: str) -> list[str]:
    return html.unescape(re.sub(r"<[^>]+>", " ", markup)).split()


def make(live: bool = True):
    sink, clock = Sink(), FakeScheduler()
    return DeltaCoalescer(sink, schedule=clock, live=live, now=lambda: clock.now), sink, clock


def test_a_delta_without_punctuation_waits_for_the_interval_then_shows():
    stream, sink, clock = make()
    stream.feed("Hello there")
    assert sink.tail == ""
    assert [t.due for t in clock.pending] == [FLUSH_INTERVAL]
    clock.advance(FLUSH_INTERVAL * 0.9)
    assert sink.tail == ""
    clock.advance(FLUSH_INTERVAL * 0.1)
    assert "Hello there" in sink.tail


def test_deltas_within_the_interval_are_coalesced_into_one_render():
    stream, sink, clock = make()
    for word in ("one ", "two ", "three ", "four"):
        stream.feed(word)
        clock.advance(FLUSH_INTERVAL / 5)
    assert len(clock.timers) == 1
    assert sink.tail_updates == 0
    clock.advance(FLUSH_INTERVAL)
    assert sink.tail_updates == 1
    assert visible_words(sink.tail) == ["one", "two", "three", "four"]


@pytest.mark.parametrize("delta", ["ends here. ", "a question?", "a list:", "line\nnext", "wow!"])
def test_a_sentence_end_or_a_newline_shows_at_once_and_cancels_the_timer(delta):
    stream, sink, clock = make()
    stream.feed("Start ")
    assert clock.pending
    stream.feed(delta)
    assert sink.tail_updates == 1
    assert "Start" in sink.tail
    assert clock.pending == []


def test_sentence_ends_in_quick_succession_update_at_most_once_per_interval():
    stream, sink, clock = make()
    stream.feed("One. ")
    assert sink.tail_updates == 1
    clock.advance(FLUSH_INTERVAL / 4)
    stream.feed("Two. ")
    stream.feed("Three. ")
    assert sink.tail_updates == 1  # too soon after the last update: waits for the rest
    clock.advance(FLUSH_INTERVAL * 3 / 4)
    assert sink.tail_updates == 2
    assert visible_words(sink.tail) == ["One.", "Two.", "Three."]
    clock.advance(FLUSH_INTERVAL)
    stream.feed("Four. ")  # a whole interval later: at once again
    assert sink.tail_updates == 3


def test_a_number_with_a_dot_is_not_a_sentence_end():
    stream, sink, _clock = make()
    stream.feed("version 3.14")
    assert sink.tail_updates == 0


def test_finished_blocks_are_sent_once_and_only_the_tail_is_re_rendered():
    first = "First paragraph, " + "long enough to be worth its own widget. " * 8
    stream, sink, clock = make()
    stream.feed(first + "\n\n")
    stream.feed("Second")
    clock.advance(FLUSH_INTERVAL)
    assert len(sink.blocks) == 1
    assert visible_words(sink.blocks[0]) == first.split()
    assert visible_words(sink.tail) == ["Second"]
    for word in (" para", "graph", " grows."):
        stream.feed(word)
        clock.advance(FLUSH_INTERVAL)
    assert len(sink.blocks) == 1
    assert "First" not in sink.tail
    assert visible_words(sink.tail) == ["Second", "paragraph", "grows."]
    stream.finish()
    assert sink.tail == ""
    assert visible_words(sink.shown()) == [*first.split(), "Second", "paragraph", "grows."]


def test_small_finished_blocks_wait_in_the_tail_rather_than_each_costing_a_widget():
    stream, sink, _clock = make()
    stream.feed("# Title\n\nShort one.\n\nAnd more.")
    assert sink.blocks == []
    assert visible_words(sink.tail) == ["Title", "Short", "one.", "And", "more."]


def test_an_open_code_fence_is_sent_in_pieces_that_join_up():
    lines = [f"value_{i} = compute({i})  # step {i}" for i in range(40)]
    stream, sink, clock = make()
    stream.feed("```python\n")
    for line in lines:
        clock.advance(FLUSH_INTERVAL)
        stream.feed(line + "\n")  # a newline flushes at once
    assert len(sink.blocks) >= 3
    assert '<pre class="collet-open-end">' in sink.blocks[0]
    assert '<pre class="collet-open-start collet-open-end">' in sink.blocks[1]
    assert "hl-" in sink.blocks[0]  # finished pieces are highlighted…
    assert "hl-" not in sink.tail  # …the live tail is kept small
    stream.feed("```\n\nDone.")
    stream.finish()
    whole = markdown_html("```python\n" + "\n".join(lines) + "\n```\n\nDone.")
    assert visible_words(sink.shown()) == visible_words(whole)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("no newline yet", None),
        ("one paragraph\nstill going\n", None),
        ("para one\n\n", Seal(cut=10)),  # a blank line ends a paragraph for good
        ("para one\n\npara two", Seal(cut=10)),  # the partial line does not count
        ("# Heading\n", Seal(cut=10)),
        ("---\n", Seal(cut=4)),
        ("Title\n=====\n", Seal(cut=12)),
        ("- a\n- b\n- c", Seal(cut=4)),  # b may still go on (the c line is partial)
        ("- a\n- b\n- c\n", Seal(cut=8)),
        ("- a\n\n", None),  # a list may go on after a blank line
        ("    code\n\n", None),  # so may indented code
        ("para\n\n- a\n", Seal(cut=6)),
        ("```py\nx = 1\n```\n", Seal(cut=16)),
        ("```py\nx = 1\n``", Seal(cut=12, close="```\n", carry="```py\n")),
        ("~~~~\nx\n~~~\n", Seal(cut=11, close="~~~~\n", carry="~~~~\n")),  # ~~~ cannot close it
        ("```py\n", None),
        ("| a | b |\n|---|---|\n| 1 | 2 |\n\n", Seal(cut=31)),
        ("\n\n", Seal(cut=2)),
    ],
)
def test_find_seal_cuts_only_where_nothing_later_can_change_the_text_before(source, expected):
    assert find_seal(source) == expected


def test_compact_streaming_shows_nothing_until_finish():
    stream, sink, clock = make(live=False)
    stream.feed("Final. Answer\n\nwith paragraphs.\n")
    clock.advance(1.0)
    assert sink.shown() == ""
    assert clock.timers == []
    stream.finish()
    assert len(sink.blocks) == 1
    assert visible_words(sink.blocks[0]) == ["Final.", "Answer", "with", "paragraphs."]


def test_reset_clears_what_was_shown_and_starts_over():
    stream, sink, _clock = make()
    stream.feed("Wrong start.\n")
    assert sink.tail
    stream.reset()
    assert sink.clears == 1
    assert stream.text == ""
    assert not stream.shown
    stream.feed("Right.")
    stream.finish()
    assert visible_words(sink.shown()) == ["Right."]


def test_a_scheduler_that_runs_the_callback_at_once_does_not_wedge_the_stream():
    sink = Sink()

    def immediate(delay, callback):
        callback()
        return Timer(0, callback)

    stream = DeltaCoalescer(sink, schedule=immediate)
    stream.feed("one")
    stream.feed(" two")
    assert visible_words(sink.tail) == ["one", "two"]


def test_close_cancels_the_pending_timer():
    stream, _sink, clock = make()
    stream.feed("waiting")
    stream.close()
    assert clock.pending == []


# ── the O(n) byte bound ──

WORDS = [
    "the", "agent", "reads", "each", "file", "and", "then", "writes", "a", "short", "note",
    "about", "what", "changed", "so", "that", "a", "reviewer", "can", "follow", "every", "step",
    "without", "guessing", "why", "a", "test", "failed", "or", "which", "module", "owns",
    "the", "queue", "state",
]  # fmt: skip


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 20))]
    if rng.random() < 0.3:
        words[rng.randrange(len(words))] = "`queue.drain()`"
    if rng.random() < 0.2:
        words[rng.randrange(len(words))] = "**important**"
    return " ".join(words).capitalize() + rng.choice(".?:.")


def long_answer(min_words: int, seed: int = 7) -> str:
    """A model-like answer: headings, paragraphs, lists and code blocks."""
    rng = random.Random(seed)
    blocks: list[str] = []
    words = 0
    while words < min_words:
        kind = rng.random()
        if kind < 0.08:
            block = "## " + " ".join(rng.choice(WORDS) for _ in range(4))
        elif kind < 0.55:
            block = " ".join(sentence(rng) for _ in range(rng.randint(2, 6)))
        elif kind < 0.75:
            ordered = rng.random() < 0.5
            block = "\n".join(
                f"{f'{i + 1}.' if ordered else '-'} {sentence(rng)}"
                for i in range(rng.randint(3, 8))
            )
        else:
            code = "\n".join(
                "    " * rng.randint(0, 2) + f"result_{i} = compute(items[{i}], key='v') + {i}"
                for i in range(rng.randint(4, 30))
            )
            block = f"```python\n{code}\n```"
        blocks.append(block)
        words += len(block.split())
    return "\n\n".join(blocks) + "\n"


def three_word_deltas(text: str) -> list[str]:
    tokens = re.findall(r"\s*\S+", text)
    deltas = ["".join(tokens[i : i + 3]) for i in range(0, len(tokens), 3)]
    rest = text[len("".join(tokens)) :]
    return [*deltas, rest] if rest else deltas


# Per finished piece: its own wrapper div and, for a split code block, the re-opened <pre>.
PIECE_WRAPPER = 128


def tail_budget(text: str) -> float:
    return TAIL_BUDGET_START + TAIL_BUDGET_RATIO * len(text.encode())


def stream_through(text: str, seconds_per_delta: float) -> tuple[DeltaCoalescer, Sink]:
    stream, sink, clock = make()
    for delta in three_word_deltas(text):
        stream.feed(delta)
        clock.advance(seconds_per_delta)
    stream.finish()
    return stream, sink


@pytest.mark.parametrize("seconds_per_delta", [0.0, 0.02, 0.08])
def test_a_ten_thousand_token_answer_costs_at_most_twice_its_rendered_size(seconds_per_delta):
    text = long_answer(10_000)  # ≥ 10,000 words, so well over 10,000 tokens
    rendered = len(markdown_html(text).encode())
    stream, sink = stream_through(text, seconds_per_delta)
    assert stream.bytes_sent <= 2 * rendered
    pieces = sum(len(b.encode()) for b in sink.blocks)
    assert pieces <= rendered + PIECE_WRAPPER * len(sink.blocks)
    assert stream.bytes_sent - pieces <= tail_budget(text)
    # Nothing lost or reordered on the way: the pieces say what the whole answer says.
    assert visible_words(sink.shown()) == visible_words(markdown_html(text))
    if seconds_per_delta:
        assert sink.tail_updates > 100  # and it did stream
    else:
        assert sink.tail_updates <= 2  # all at once: one update (and the final clear)


def test_one_huge_paragraph_still_costs_linear_bytes():
    rng = random.Random(1)
    text = " ".join(sentence(rng) for _ in range(400))  # ≈ 40 KB, no block boundary at all
    rendered = len(markdown_html(text).encode())
    stream, sink = stream_through(text, FLUSH_INTERVAL)
    assert stream.bytes_sent <= rendered + tail_budget(text)
    assert visible_words(sink.shown()) == visible_words(markdown_html(text))


def test_doubling_the_answer_about_doubles_the_bytes():
    small = stream_through(long_answer(3_000, seed=3), 0.02)[0].bytes_sent
    large = stream_through(long_answer(6_000, seed=3), 0.02)[0].bytes_sent
    assert 1.6 < large / small < 2.4
