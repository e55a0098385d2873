"""Our use of httpx2's SSE parser: its line rules, plus the two behaviours EventSource lacks
(a leading BOM skipped, a last event without its blank line delivered), and its size cap."""

import itertools

import httpx2
import pytest
from httpx2 import ServerSentEvent as SSEEvent
from hypothesis import given
from hypothesis import strategies as st

from collet_nb.adapters.providers.sse import SSEDecoder


def decode(*chunks: bytes, cap: int | None = 1024) -> list[SSEEvent]:
    decoder = SSEDecoder(max_event_bytes=cap)
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.flush())
    return events


def test_an_event_ends_at_a_blank_line():
    events = decode(b"data: hello\n\n")
    assert events == [SSEEvent(event="message", data="hello")]


def test_the_event_field_names_the_event():
    [event] = decode(b"event: message_stop\ndata: {}\n\n")
    assert event.event == "message_stop"
    assert event.data == "{}"


def test_several_data_lines_join_with_newlines():
    [event] = decode(b"data: one\ndata: two\ndata:\n\n")
    assert event.data == "one\ntwo\n"


def test_comments_and_unknown_fields_are_ignored():
    events = decode(b": keep-alive\nfoo: bar\nno colon here\ndata: x\n\n")
    assert [e.data for e in events] == ["x"]


def test_an_event_without_data_has_empty_data_and_its_type_is_forgotten():
    events = decode(b"event: ping\n\ndata: x\n\n")
    assert events == [SSEEvent(event="ping", data=""), SSEEvent(event="message", data="x")]


def test_only_one_space_after_the_colon_is_stripped():
    [event] = decode(b"data:no space\ndata:  two spaces\n\n")
    assert event.data == "no space\n two spaces"


def test_crlf_and_lone_cr_end_lines():
    events = decode(b"data: a\r\n\r\ndata: b\r\rdata: c\n\n")
    assert [e.data for e in events] == ["a", "b", "c"]


def test_a_crlf_split_between_chunks_is_one_line_break():
    events = decode(b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n")
    assert [e.data for e in events] == ["a", "b"]


def test_a_character_split_between_chunks_is_decoded_whole():
    data = "data: é✓🙂\n\n".encode()
    chunks = [data[i : i + 1] for i in range(len(data))]
    assert [e.data for e in decode(*chunks)] == ["é✓🙂"]


def test_id_and_retry_are_carried_on_later_events():
    [event] = decode(b"id: 42\nretry: 1500\ndata: x\n\n")
    assert event.id == "42"
    assert event.retry == 1500


def test_a_leading_byte_order_mark_is_skipped():
    assert [e.data for e in decode(b"\xef\xbb", b"\xbfdata: x\n\n")] == ["x"]


def test_a_last_event_without_its_blank_line_is_still_delivered():
    assert [e.data for e in decode(b"data: [DONE]\n")] == ["[DONE]"]
    assert [e.data for e in decode(b"data: [DONE]")] == ["[DONE]"]


def test_invalid_utf8_is_replaced_not_fatal():
    [event] = decode(b"data: a\xffb\n\n")
    assert event.data == "a\ufffdb"


def test_feed_returns_events_as_soon_as_they_complete():
    decoder = SSEDecoder()
    assert list(decoder.feed(b"data: one\n")) == []
    assert [e.data for e in decoder.feed(b"\ndata: tw")] == ["one"]
    assert [e.data for e in decoder.feed(b"o\n\n")] == ["two"]


def test_an_event_larger_than_the_cap_is_refused():
    with pytest.raises(httpx2.SSEError, match="1024 byte limit"):
        decode(b"data: " + b"x" * 1100 + b"\n\n")


def test_a_line_that_never_ends_is_refused_once_past_the_cap():
    decoder = SSEDecoder(max_event_bytes=1024)
    list(decoder.feed(b"data: " + b"x" * 1000))
    with pytest.raises(httpx2.SSEError):
        list(decoder.feed(b"x" * 100))


def test_many_events_each_under_the_cap_pass():
    events = decode(b"data: " + b"x" * 1000 + b"\n\n" + b"data: " + b"y" * 1000 + b"\n\n")
    assert [len(e.data) for e in events] == [1000, 1000]


texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"),
    max_size=30,
)
events_strategy = st.lists(
    st.tuples(
        st.sampled_from(["message", "content_block_delta", "error"]),
        st.lists(texts, min_size=1, max_size=3),
    ),
    max_size=6,
)


@given(
    events=events_strategy,
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
)
def test_any_split_of_a_stream_parses_to_the_same_events(events, newline, cuts):
    text = ""
    for name, lines in events:
        text += f"event: {name}{newline}" + "".join(f"data: {line}{newline}" for line in lines)
        text += f": comment{newline}{newline}"
    data = text.encode()
    points = sorted({min(c, len(data)) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]

    expected = [SSEEvent(event=name, data="\n".join(lines)) for name, lines in events]
    assert decode(*chunks) == expected
    assert decode(data) == expected


def test_the_text_of_one_network_read_goes_on_as_one_chunk_in_order():
    from collet_nb.adapters.providers.wire import merged
    from collet_nb.core.chat import Usage
    from collet_nb.core.ports import ReasoningChunk, TextChunk, UsageChunk

    usage = UsageChunk(usage=Usage(prompt_tokens=1))
    chunks = [
        ReasoningChunk(text="hm"), ReasoningChunk(text="m"), TextChunk(text="Hel"),
        TextChunk(text="lo"), usage, TextChunk(text=" world"), TextChunk(text="!"),
    ]  # fmt: skip
    assert merged(chunks) == [
        ReasoningChunk(text="hmm"), TextChunk(text="Hello"), usage, TextChunk(text=" world!")
    ]  # fmt: skip
    assert merged([]) == []


# ── reading in bulk: the same events as the parser alone ──

_NAMES = st.sampled_from(["", "message", "content_block_delta", "ping", "error"])
_DATA = st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]))
_SPACE = st.sampled_from(["", " ", "  "])


@st.composite
def _event(draw) -> str:
    """One event as servers write it, plain or not (comments, ids, several data lines)."""
    data, more, name, space = draw(_DATA), draw(_DATA), draw(_NAMES), draw(_SPACE)
    forms = {
        "data": f"data:{space}{data}\n\n",
        "named": f"event:{space}{name}\ndata:{space}{data}\n\n",
        "multi": f"data: {data}\ndata:{space}{more}\n\n",
        "comment": f": keep-alive\ndata: {data}\n\n",
        "id": f"id: 7\ndata: {data}\n\n",
        "nodata": f"event: {name}\n\n",
        "empty": "\n",
    }
    return forms[draw(st.sampled_from(sorted(forms)))]


@given(
    events=st.lists(_event(), max_size=12),
    crlf=st.booleans(),
    bom=st.booleans(),
    unfinished=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8),
)
def test_reading_in_bulk_gives_what_the_parser_alone_gives(events, crlf, bom, unfinished, cuts):
    text = "".join(events) + ("data: last" if unfinished else "")
    if crlf:
        text = text.replace("\n", "\r\n")
    raw = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    bounds = sorted({0, len(raw), *(c for c in cuts if c < len(raw))})
    chunks = [raw[a:b] for a, b in itertools.pairwise(bounds)]
    expected = [(e.event, e.data) for e in decode(*chunks, cap=None)]
    bulk = SSEDecoder(max_event_bytes=None)
    got = [e for chunk in chunks for e in bulk.events(chunk)] + bulk.rest()
    assert [(e.event, e.data) for e in got] == expected


def test_reading_in_bulk_keeps_the_size_cap():
    bulk = SSEDecoder(max_event_bytes=64)
    assert [e.data for e in bulk.events(b"data: small\n\n")] == ["small"]
    with pytest.raises(httpx2.SSEError):
        bulk.events(b"data: " + b"x" * 100)
