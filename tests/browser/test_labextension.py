"""The sidebar's TypeScript: strict, lint-clean, no `any`, no console.log; its protocol mirrors
collet_nb/ui/protocol.py and the events of collet_nb/core/events.py field by field (names,
types, the words a field may hold, and what readEvent() reads). No browser needed.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import shutil
import subprocess
import typing

import pytest

from collet_nb.core import elicitation, kinds, message, ports, session
from collet_nb.core.events import EVENT_TYPES
from collet_nb.ui import protocol
from collet_nb.ui.actions import ACTIONS
from collet_nb.ui.protocol import COMM_TARGET, PROTOCOL_VERSION
from tests.browser.lab import ROOT

EXT = ROOT / "labextension"
SOURCES = sorted((EXT / "src").rglob("*.ts"))  # render/ too
PROTOCOL_TS = (EXT / "src" / "protocol.ts").read_text()
# The notebook tools' messages are typed beside the code that answers them.
NOTEBOOK_TS = (EXT / "src" / "notebook.ts").read_text()

# A Python field's type → its TypeScript type (a word list counts as `string`) and the
# Fields readers of readEvent() that read it.
PY_TO_TS = {
    "str": ("string", {"str", "oneOf"}),
    "str | None": ("string | null", {"strOrNull"}),
    "bool": ("boolean", {"bool"}),
    "int": ("number", {"int"}),
    "float": ("number", {"num"}),
    "int | None": ("number | null", {"numOrNull"}),
    "float | None": ("number | null", {"numOrNull"}),
    "dict[str, Any]": ("Preview | null", {"readPreview"}),  # a tool call's preview
    "list[dict[str, Any]]": ("FormField[]", {"readFields"}),  # an elicitation's fields
    "list[dict[str, str]]": ("ResultImage[]", {"images"}),  # a tool result's pictures
}


def _statuses() -> set[str]:
    return {
        message.shown_status(state, awaiting_approval=a, awaiting_plan=p, awaiting_input=i)
        for state, a, p, i in itertools.product(
            message.MessageState, (False, True), (False, True), (False, True)
        )
    }


# The word lists of protocol.ts (`export type X = 'a' | 'b'`) and where the runtime keeps them.
WORDS = {
    "MessageState": {m.value for m in message.MessageState},
    "MessageStatus": _statuses(),
    "SessionState": {s.value for s in session.SessionState},
    "Decision": {d.value for d in ports.Decision},
    "ActionName": set(ACTIONS),
    "AgentKind": {a.value for a in kinds.AgentKind},
    "ElicitationAction": set(elicitation.ACTIONS),
    "FieldType": set(typing.get_args(elicitation.FieldType)),
}
# Their `export const` arrays, which readEvent() checks values against.
WORD_ARRAYS = {
    "MESSAGE_STATES": "MessageState",
    "MESSAGE_STATUSES": "MessageStatus",
    "SESSION_STATES": "SessionState",
    "DECISIONS": "Decision",
    "AGENTS": "AgentKind",
    "ELICITATION_ACTIONS": "ElicitationAction",
    "FIELD_TYPES": "FieldType",
}


def _without_comments(text: str) -> str:
    return re.sub(r"/\*.*?\*/|//[^\n]*", "", text, flags=re.DOTALL)


TS = _without_comments(PROTOCOL_TS)


def word_lists() -> dict[str, set[str]]:
    """``export type X = 'a' | 'b' …;`` → {X: {a, b, …}}."""
    found = {}
    for name, body in re.findall(r"export type (\w+) =\s*((?:\s*\|?\s*'[a-z_]+')+);", TS):
        found[name] = set(re.findall(r"'([a-z_]+)'", body))
    return found


def ts_objects(source: str = "") -> dict[str, tuple[str | None, dict[str, str]]]:
    """Every ``[export] interface N [extends B] {…}`` and ``export type N = {…};`` of
    ``source`` (protocol.ts by default) → (B, fields: their TypeScript types, ``?`` dropped)."""
    found = {}
    pattern = r"^(?:export )?(?:interface (\w+)(?: extends (\w+))? \{|type (\w+) = \{)\n(.*?)\n\}"
    text = source or TS
    for name, base, alias, body in re.findall(pattern, text, flags=re.DOTALL | re.MULTILINE):
        fields = dict(re.findall(r"^\s+(\w+)\??: (.+);$", body, flags=re.MULTILINE))
        found[name or alias] = (base or None, fields)
    return found


def ts_type(text: str, words: dict[str, set[str]]) -> str:
    """A TypeScript type with word lists as ``string`` (``MessageState | null`` → ``string |
    null``)."""
    return " | ".join("string" if part in words else part for part in text.split(" | "))


def ts_events() -> dict[str, dict[str, str]]:
    """The event interfaces by their ``type``: field → TypeScript type (``type`` left out)."""
    objects = ts_objects()
    base = objects["EventBase"][1]
    found = {}
    for parent, fields in objects.values():
        tag = re.fullmatch(r"'([a-z_]+)'", fields.get("type", ""))
        if parent == "EventBase" and tag:
            found[tag.group(1)] = {**base, **{k: v for k, v in fields.items() if k != "type"}}
    return found


def read_event_cases() -> dict[str, dict[str, tuple[str, str, str]]]:
    """What readEvent() reads for each event type: field → (reader, the key it reads, the
    word array a ``oneOf`` checks against)."""
    body = TS[TS.index("function readEvent(") :]
    body = body[: body.index("\n}\n")]
    found = {}
    for labels, returned in re.findall(
        r"((?:case '[a-z_]+':\s*)+)return \{(.*?)\};", body, flags=re.DOTALL
    ):
        fields = {
            name: (reader, key, words)
            for name, reader, key, words in re.findall(
                r"(\w+): f\.(\w+)\('(\w+)'(?:, (\w+))?", returned
            )
        }
        for name, reader, key in re.findall(r"(\w+): (read\w+)\(data\.(\w+)", returned):
            fields[name] = (reader, key, "")
        for label in re.findall(r"case '([a-z_]+)'", labels):
            found[label] = fields
    return found


def test_protocol_ts_speaks_the_kernels_version_and_target():
    assert f"export const PROTOCOL_VERSION = {PROTOCOL_VERSION};" in PROTOCOL_TS
    assert f"export const COMM_TARGET = '{COMM_TARGET}';" in PROTOCOL_TS


def test_protocol_ts_types_every_event_the_runtime_emits():
    """Each event of core/events.py has its interface in protocol.ts with the same fields and
    types, and readEvent() reads each field, under its own name, with a reader of its type."""
    words = word_lists()
    typed, reads = ts_events(), read_event_cases()
    assert "const message_id = f.str('message_id');" in TS  # read once, for every event
    assert set(EVENT_TYPES) <= set(typed), sorted(set(EVENT_TYPES) - set(typed))
    for name, cls in EVENT_TYPES.items():
        fields = {f.name: str(f.type) for f in dataclasses.fields(cls)}
        ts_fields = typed[name]
        assert set(ts_fields) == set(fields), (name, "protocol.ts", sorted(ts_fields))
        assert name in reads, f"readEvent() does not read {name!r}"
        read = reads[name]
        assert set(read) == set(fields) - {"message_id"}, (name, "readEvent()", sorted(read))
        for field, py_type in fields.items():
            assert py_type in PY_TO_TS, f"{name}.{field}: add {py_type!r} to PY_TO_TS"
            expected, readers = PY_TO_TS[py_type]
            assert ts_type(ts_fields[field], words) == expected, (name, field, ts_fields[field])
            if field == "message_id":
                continue
            reader, key, array = read[field]
            assert key == field, f"readEvent() reads {name}.{field} from {key!r}"
            assert reader in readers, f"readEvent() reads {name}.{field} with {reader}()"
            word_list = ts_fields[field].split(" | ")[0]
            if word_list in words:  # a field that holds one of a few words is checked so
                assert (reader, WORD_ARRAYS.get(array)) == ("oneOf", word_list), (name, field)
            else:
                assert reader != "oneOf", (name, field)


def test_protocol_ts_word_lists_hold_the_runtimes_words():
    words = word_lists()
    for name, values in WORDS.items():
        assert words.get(name) == values, (name, words.get(name))
    for const, name in WORD_ARRAYS.items():
        found = re.search(rf"export const {const}: readonly {name}\[\] = \[(.*?)\];", TS, re.S)
        assert found, f"protocol.ts has no {const}"
        assert set(re.findall(r"'([a-z_]+)'", found.group(1))) == WORDS[name], const


def test_protocol_ts_messages_have_the_fields_of_protocol_py():
    """Every message of ui/protocol.py (kernel → front end, front end → kernel) is typed in
    protocol.ts (or notebook.ts, for the notebook tools) under its name, with the same fields
    and matching types."""
    words = word_lists()
    objects = {**ts_objects(_without_comments(NOTEBOOK_TS)), **ts_objects()}
    cells = {("NotebookReply", "cells"): "WireCell[]", ("NotebookReply", "cell"): "WireCell",
             ("NotebookReply", "images"): "WireImage[]"}  # fmt: skip
    typed_dicts = [
        obj for obj in vars(protocol).values()
        if isinstance(obj, type) and typing.is_typeddict(obj)
    ]  # fmt: skip
    assert len(typed_dicts) >= 9
    simple = {"int": "number", "str": "string", "bool": "boolean", "str | None": "string | null"}
    for cls in typed_dicts:
        assert cls.__name__ in objects, f"protocol.ts has no type {cls.__name__}"
        fields = {k: v.__forward_arg__ for k, v in cls.__annotations__.items()}
        ts_fields = objects[cls.__name__][1]
        assert set(ts_fields) == set(fields), (cls.__name__, sorted(ts_fields))
        for field, py_type in fields.items():
            ts = ts_type(ts_fields[field], words)
            literal = re.fullmatch(r"Literal\[['\"](\w+)['\"]\]", py_type)
            if literal:
                expected = f"'{literal.group(1)}'"
            elif (cls.__name__, field) in cells:
                expected = cells[cls.__name__, field]
            elif py_type == "list[dict[str, Any]]":
                expected = "WireEvent[]"
            elif py_type == "dict[str, Any]":
                expected = "SessionStatus"
            else:
                expected = simple[py_type]
            assert ts == expected, (cls.__name__, field, py_type, ts_fields[field])


def test_the_sources_have_no_any_and_no_console_log():
    assert SOURCES
    for path in SOURCES:
        text = path.read_text()
        assert not re.search(r"[:<,]\s*any\b|\bas any\b", text), path.name
        assert "console.log" not in text, path.name


@pytest.mark.slow
def test_the_sources_pass_strict_tsc_and_eslint():
    if not (EXT / "node_modules").is_dir() or shutil.which("npx") is None:
        pytest.fail("labextension/node_modules is missing: run scripts/setup.sh with npm")
    for cmd in (["npx", "tsc", "--noEmit"], ["npx", "eslint", "src"]):
        done = subprocess.run(
            cmd, cwd=EXT, capture_output=True, text=True, timeout=180, check=False
        )
        assert done.returncode == 0, f"{' '.join(cmd)}:\n{done.stdout}\n{done.stderr}"
