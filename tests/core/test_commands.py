import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collet_nb.core.commands import COMMANDS, CellFlags, help_text, parse_cell_flags, parse_command
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
