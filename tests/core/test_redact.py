"""Redaction: which variables count as secret, masking in text and data, and secrets streamed
in pieces."""

import itertools

from hypothesis import given
from hypothesis import strategies as st

from collet_nb.core.events import ErrorRaised, ReasoningDelta, TextDelta, TurnFinished
from collet_nb.core.redact import EventScrubber, Redactor, looks_secret

KEY = "sk-live-0123456789abcdef"


def test_secret_names_are_recognised_by_whole_words_and_endings():
    for name in (
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "COLLET_API_KEY",
        "HF_TOKEN",
        "GHTOKEN",
        "DB_PASS",
        "PGPASSWORD",
        "AWS_SECRET_ACCESS_KEY",
        "MY_AUTH",
        "GOOGLE_CREDENTIALS",
        "openai_api_key",
        "clientSecret",
    ):
        assert looks_secret(name), name
    for name in (
        "KEYBOARD_LAYOUT",
        "PASSENGER_COUNT",
        "SSH_AUTH_SOCK",
        "AWS_SHARED_CREDENTIALS_FILE",
        "TOKEN_URL",
        "PATH",
        "HOME",
        "PWD",
        "COLLET_MODEL",
        "",
    ):
        assert not looks_secret(name), name


def test_the_key_and_secret_variables_are_masked_but_short_or_plain_values_are_not():
    redactor = Redactor.build(
        keys=[KEY, None, ""],
        env={"HF_TOKEN": "hf_abcdefghijkl", "DB_PASS": "short", "EDITOR": "vim-editor-x"},
    )
    text = f"key {KEY}, token hf_abcdefghijkl, pass short, editor vim-editor-x"
    assert redactor.text(text) == "key ***, token ***, pass short, editor vim-editor-x"
    assert KEY not in repr(redactor)


def test_a_secret_inside_a_longer_one_does_not_leave_a_piece_of_the_longer():
    redactor = Redactor.build(keys=["abcdefgh", "abcdefgh-and-more"])
    assert redactor.text("x abcdefgh-and-more y abcdefgh") == "x *** y ***"


def test_data_is_redacted_deep_and_returned_as_is_when_clean():
    redactor = Redactor.build(keys=[KEY])
    clean = {"a": ["x", ("y", 1)], "b": None}
    assert redactor.data(clean) is clean
    dirty = {"a": [f"k={KEY}", ("y", KEY)], "n": 3}
    assert redactor.data(dirty) == {"a": ["k=***", ("y", "***")], "n": 3}
    assert Redactor().data(dirty) is dirty


def test_events_keep_their_type_and_other_fields():
    event = ErrorRaised(message_id="m1", error=f"HTTP 401 for key {KEY}", kind="ProviderError")
    clean = Redactor.build(keys=[KEY]).event(event)
    assert clean == ErrorRaised(message_id="m1", error="HTTP 401 for key ***", kind="ProviderError")


def shown(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


@given(
    before=st.text(max_size=30),
    after=st.text(max_size=30),
    cuts=st.lists(st.integers(0, 200), max_size=8),
)
def test_a_key_streamed_in_any_pieces_is_never_shown_and_no_text_is_lost(before, after, cuts):
    full = before + KEY + after
    bounds = sorted({0, len(full), *(c % (len(full) + 1) for c in cuts)})
    scrubber = EventScrubber(Redactor.build(keys=[KEY]))
    out = []
    for start, end in itertools.pairwise(bounds):
        out += scrubber.scrub(TextDelta(message_id="m1", text=full[start:end]))
    out += scrubber.scrub(TurnFinished(message_id="m1", stop_reason="answered"))
    assert KEY not in shown(out)
    assert shown(out) == Redactor.build(keys=[KEY]).text(full)
    assert isinstance(out[-1], TurnFinished)


def test_held_text_goes_out_before_the_next_event_of_its_message_only():
    scrubber = EventScrubber(Redactor.build(keys=[KEY]))
    assert scrubber.scrub(TextDelta(message_id="m1", text="look: sk-li")) == [
        TextDelta(message_id="m1", text="look: ")
    ]
    other = TurnFinished(message_id="m2", stop_reason="answered")
    assert scrubber.scrub(other) == [other]
    assert scrubber.scrub(ReasoningDelta(message_id="m1", text="hm")) == [
        ReasoningDelta(message_id="m1", text="hm")
    ]
    end = TurnFinished(message_id="m1", stop_reason="answered")
    assert scrubber.scrub(end) == [TextDelta(message_id="m1", text="sk-li"), end]


def test_without_secrets_events_pass_through_untouched():
    scrubber = EventScrubber()
    delta = TextDelta(message_id="m1", text="sk-")
    assert scrubber.scrub(delta)[0] is delta
