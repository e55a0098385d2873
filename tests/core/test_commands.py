import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collet_nb.core.commands import (
    COMMANDS,
    CellFlags,
    help_text,
    parse_cell_flags,
    parse_command,
    parse_line,
)
from collet_nb.errors import ConfigError


@pytest.mark.parametrize(
    ("line", "flags"),
    [
        ("", CellFlags()),
        ("--wait", CellFlags(wait=True)),
        ("--agent architect --model gpt-x", CellFlags(agent="architect", model="gpt-x")),
        ("--agent=ASK --wait --model=m", CellFlags(agent="ask", model="m", wait=True)),
        ("--model 'my model'", CellFlags(model="my model")),
    ],
)
def test_cell_flags_parse_into_what_the_user_asked(line, flags):
    assert parse_cell_flags(line) == flags


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("--agnet code", "unknown flag '--agnet'"),
        ("--agent", "--agent needs a value"),
        ("--model --wait", "--model needs a value"),
        ("--agent wizard", "code|architect|ask"),
        ("--wait=yes", "unknown flag"),
        ("'unclosed", "usage: %%collet"),
    ],
)
def test_bad_cell_flags_get_one_line_with_the_usage(line, hint):
    with pytest.raises(ConfigError) as info:
        parse_cell_flags(line)
    assert hint in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("line", "flags", "text"),
    [
        ("--model gpt-x explain it", CellFlags(model="gpt-x"), "explain it"),
        ("--agent=architect --wait plan 'it' now", CellFlags(agent="architect", wait=True),
         "plan 'it' now"),
        ("--model 'my model'  two  spaces", CellFlags(model="my model"), "two  spaces"),
        ("-- --verbose is a word here", CellFlags(), "--verbose is a word here"),
    ],
)  # fmt: skip
def test_a_line_message_takes_leading_flags_and_keeps_its_text_as_typed(line, flags, text):
    assert parse_line(line) == (flags, text)


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("--modle x hi", "unknown flag '--modle'"),
        ("--rerun hi", "it is for %%collet cells"),
        ("--model", "--model needs a value"),
        ("--agent wizard hi", "code|architect|ask"),
        ("--wait", "no message after the flags"),
    ],
)
def test_bad_line_flags_get_one_line_with_the_line_usage(line, hint):
    with pytest.raises(ConfigError) as info:
        parse_line(line)
    assert hint in str(info.value)
    assert "\n" not in str(info.value)


@given(st.text(max_size=60))
def test_any_line_either_parses_or_raises_a_config_error(line):
    with contextlib.suppress(ConfigError):
        _flags, text = parse_line(line)
        assert text.strip()


@given(st.text(max_size=60))
def test_any_flag_line_either_parses_or_raises_a_config_error(line):
    with contextlib.suppress(ConfigError):
        parse_cell_flags(line)


@given(st.text(max_size=60))
def test_any_command_line_either_parses_or_raises_a_config_error(text):
    try:
        command = parse_command("/" + text)
    except ConfigError:
        return
    assert command.name in {c.name for c in COMMANDS}


def test_help_lists_every_command_with_its_aliases():
    text = help_text()
    for spec in COMMANDS:
        assert f"/{spec.name}" in text
        for alias in spec.aliases:
            assert f"/{alias}" in text


def test_free_text_arguments_are_kept_whole():
    assert parse_command("/deny  not   now ").args == ("not   now",)
    assert parse_command("/approve").args == ()
