"""What a server asks the person: a form's fields from its schema, and an answer filled in with
the defaults and checked field by field (core/elicitation.py); resource mentions found in a
message (core/mentions.py)."""

import pytest

from collet_nb.core.elicitation import (
    SchemaUnsupported,
    describe_field,
    example,
    fields_of,
    fill,
    parse_answer,
)
from collet_nb.core.mentions import SEPARATOR, find_resource_mentions, with_attachments
from collet_nb.errors import ConfigError

# server-everything's trigger-elicitation-request schema, cut to one field of each kind.
SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"title": "String", "type": "string", "description": "Your full, legal name"},
        "check": {"type": "boolean", "description": "Agree to the terms and conditions"},
        "firstLine": {"type": "string", "default": "It was a dark and stormy night."},
        "email": {"type": "string", "format": "email"},
        "birthdate": {"type": "string", "format": "date"},
        "integer": {"type": "integer", "minimum": 1, "maximum": 100, "default": 42},
        "number": {"type": "number", "minimum": 0, "maximum": 1000, "default": 3.14},
        "friend": {"type": "string", "enum": ["Monica", "Rachel"], "default": "Monica"},
        "instruments": {
            "type": "array", "minItems": 1, "maxItems": 2,
            "items": {"type": "string", "enum": ["Guitar", "Piano", "Drums"]},
            "default": ["Guitar"],
        },
        "hero": {"type": "string", "oneOf": [{"const": "hero-1", "title": "Superman"},
                                            {"const": "hero-2", "title": "Wonder Woman"}]},
        "fish": {"type": "array", "items": {"anyOf": [{"const": "fish-1", "title": "Tuna"}]}},
        "pet": {"type": "string", "enum": ["pet-1", "pet-2"], "enumNames": ["Cats", "Dogs"],
                "default": "pet-1"},
    },
    "required": ["name"],
}  # fmt: skip


def test_every_kind_of_field_is_read_with_its_title_limits_default_and_choices():
    fields = {f.name: f for f in fields_of(SCHEMA)}
    assert [f.name for f in fields_of(SCHEMA)] == list(SCHEMA["properties"])
    assert (fields["name"].type, fields["name"].required, fields["name"].title) == (
        "string", True, "String",
    )  # fmt: skip
    assert fields["email"].format == "email"
    assert (fields["integer"].minimum, fields["integer"].maximum, fields["integer"].default) == (
        1, 100, 42,
    )  # fmt: skip
    assert fields["friend"].type == "choice"
    assert [(o.value, o.label) for o in fields["hero"].options] == [
        ("hero-1", "Superman"), ("hero-2", "Wonder Woman"),
    ]  # fmt: skip
    assert [(o.value, o.label) for o in fields["pet"].options][1] == ("pet-2", "Dogs")
    assert fields["instruments"].type == "choices"
    assert fields["instruments"].default == ("Guitar",)
    assert fields["fish"].options[0].label == "Tuna"
    assert fields["instruments"].to_dict()["default"] == ["Guitar"]


def test_an_answer_left_short_takes_the_defaults():
    # Mutation: fill not applying defaults -> integer, friend … missing from the content.
    content = fill(fields_of(SCHEMA), {"name": "Ada"})
    assert content == {
        "name": "Ada",
        "firstLine": "It was a dark and stormy night.",
        "integer": 42,
        "number": 3.14,
        "friend": "Monica",
        "instruments": ["Guitar"],
        "pet": "pet-1",
    }


def test_text_from_a_form_is_read_as_the_field_takes_it():
    content = fill(
        fields_of(SCHEMA),
        {"name": "Ada", "integer": "7", "number": "2.5", "check": "yes", "hero": "Wonder Woman",
         "instruments": "Piano", "birthdate": "1815-12-10", "email": "ada@example.org"},
    )  # fmt: skip
    assert content["integer"] == 7
    assert content["number"] == 2.5
    assert content["check"] is True
    assert content["hero"] == "hero-2"  # the words shown name the choice
    assert content["instruments"] == ["Piano"]


def test_what_is_wrong_is_said_field_by_field_and_nothing_is_filled():
    with pytest.raises(ConfigError) as wrong:
        fill(
            fields_of(SCHEMA),
            {"integer": 120, "email": "nope", "friend": "Joey", "instruments": ["Guitar",
             "Piano", "Drums"], "birthdate": "10/12/1815", "colour": "red"},
        )  # fmt: skip
    said = str(wrong.value)
    assert said.startswith("the answer needs fixing (nothing was sent): ")
    for part in (
        "there is no field 'colour'",
        "name: required — give text",
        "integer: 120 is above the maximum of 100",
        "email: 'nope' is not an e-mail address",
        "friend: 'Joey' is not one of Monica, Rachel",
        "instruments: 3 choices is above the maximum of 2",
        "birthdate: '10/12/1815' is not a date (YYYY-MM-DD)",
    ):
        assert part in said, part
    assert wrong.value.key == "answer"
    with pytest.raises(ConfigError, match=r"4\.5 is not an integer"):
        fill(fields_of(SCHEMA), {"name": "x", "integer": 4.5})


def test_a_nested_or_unknown_property_is_not_a_form():
    with pytest.raises(SchemaUnsupported, match="'address' is of type 'object'"):
        fields_of({"type": "object", "properties": {"address": {"type": "object"}}})
    with pytest.raises(SchemaUnsupported, match="list of something other than choices"):
        fields_of({"type": "object", "properties": {"tags": {"type": "array"}}})


def test_the_answer_command_reads_a_json_object_and_says_how_when_it_is_not():
    assert parse_answer('  {"name": "Ada"} ') == {"name": "Ada"}
    assert parse_answer("") == {}
    with pytest.raises(ConfigError, match="not JSON"):
        parse_answer("{name: Ada}")
    with pytest.raises(ConfigError, match="not a list"):
        parse_answer("[1]")


def test_a_field_is_described_in_one_line_and_the_example_names_what_must_be_given():
    fields = {f.name: f for f in fields_of(SCHEMA)}
    assert describe_field(fields["integer"]) == "integer (an integer; 1 to 100; default 42)"
    assert describe_field(fields["name"]) == "name* (text) — Your full, legal name"
    assert example(fields_of(SCHEMA)) == '{"name": "…"}'


def test_resource_mentions_are_found_outside_code_for_configured_servers():
    text = (
        "Compare @docs:file:///notes/a.md, and @web:https://example.org/x. "
        "Not `@docs:file:///in/code`, nor mail@docs:x://y, nor @cell:3 or @other:demo://z."
    )
    found = find_resource_mentions(text, frozenset({"docs", "web", "cell"}))
    assert [(m.server, m.uri) for m in found] == [
        ("docs", "file:///notes/a.md"), ("web", "https://example.org/x"),
    ]  # fmt: skip
    assert with_attachments("hi", ["A"]) == f"hi{SEPARATOR}\n\nA"
    assert with_attachments(f"hi{SEPARATOR}\n\nB", ["A"]) == f"hi{SEPARATOR}\n\nB\n\nA"


def test_answer_takes_its_json_as_typed_and_decline_an_optional_id():
    from collet_nb.core.commands import help_text, parse_command

    assert parse_command('/answer e2 {"name": "Ada Lovelace"}').args == (
        'e2 {"name": "Ada Lovelace"}',
    )
    assert parse_command("/answer").args == ()
    assert parse_command("/decline e1").args == ("e1",)
    with pytest.raises(ConfigError):
        parse_command("/decline e1 e2")
    shown = help_text()
    assert "/answer [ID] [{JSON}]" in shown
    assert "/decline [ID]" in shown
