import json

from collet_nb.adapters.journal import JsonlJournal, journal_path, read_records
from collet_nb.core.chat import ChatMessage
from collet_nb.core.replay import replay


def test_records_are_appended_one_per_line_and_read_back_in_order(tmp_path):
    j = JsonlJournal(journal_path(tmp_path, "abc"))
    j.append({"kind": "session", "session_id": "abc"}, durable=True)
    j.append({"kind": "accepted", "id": "m1", "seq": 1, "text": "héllo ✓"})
    # Readable while still open: every append is flushed.
    assert [r["kind"] for r in read_records(j.path)] == ["session", "accepted"]
    j.close()
    assert j.path == tmp_path / "sessions" / "abc.jsonl"
    assert read_records(j.path)[1]["text"] == "héllo ✓"


def test_a_torn_last_line_is_skipped_and_the_rest_survives(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"kind": "a"}) + "\n" + '{"kind": "b", "te')
    assert read_records(path) == [{"kind": "a"}]


def test_a_corrupt_middle_line_is_skipped_with_a_warning(tmp_path, caplog):
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"kind": "a"}\n\xff\xfe not json\n{"kind": "c"}\n')
    assert [r["kind"] for r in read_records(path)] == ["a", "c"]
    assert "line 2" in caplog.text


def test_a_missing_journal_reads_as_empty(tmp_path):
    assert read_records(tmp_path / "none.jsonl") == []


def test_replay_rebuilds_messages_their_states_and_the_context():
    records = [
        {"kind": "session", "session_id": "s1", "project_dir": "/p"},
        {"kind": "accepted", "id": "m1", "seq": 1, "text": "a"},
        {"kind": "accepted", "id": "m2", "seq": 2, "text": "b"},
        {"kind": "state", "id": "m1", "state": "running"},
        {"kind": "context", "op": "append", "message": {"role": "user", "content": "a"}},
        {"kind": "context", "op": "append", "message": {"role": "assistant", "content": "A"}},
        {"kind": "state", "id": "m1", "state": "answered"},
        {"kind": "state", "id": "m2", "state": "running"},
    ]
    image = replay(records)
    assert (image.session_id, image.project_dir) == ("s1", "/p")
    assert {m.id: m.state.value for m in image.messages} == {"m1": "answered", "m2": "running"}
    assert image.context == [
        ChatMessage(role="user", content="a"),
        ChatMessage(role="assistant", content="A"),
    ]
    assert [m.id for m in image.interrupted()] == ["m2"]


def test_replay_skips_records_that_break_the_lifecycle_and_says_so():
    image = replay(
        [
            {"kind": "accepted", "id": "m1", "seq": 1, "text": "a"},
            {"kind": "state", "id": "m1", "state": "answered"},  # never ran
            {"kind": "state", "id": "m9", "state": "running"},  # unknown message
        ]
    )
    assert len(image.skipped) == 2
    assert image.messages.get("m1").state.value == "queued"
