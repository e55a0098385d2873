"""file_read, file_write and file_edit through BuiltinTools."""

from __future__ import annotations

import pytest

from collet_nb.adapters.tools import BuiltinTools, Limits


@pytest.fixture
def tools(layout):
    return BuiltinTools(project_dir=layout.project)


def test_file_read_numbers_lines_from_one_like_cat_n(layout, tools, run_tool):
    (layout.project / "a.txt").write_text("alpha\nbeta\ngamma\n")
    result = run_tool(tools, "file_read", path="a.txt")
    assert not result.is_error
    assert result.content == "     1\talpha\n     2\tbeta\n     3\tgamma"


def test_file_read_starts_at_offset_and_stops_at_limit_with_a_note_on_what_follows(
    layout, tools, run_tool
):
    (layout.project / "n.txt").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    result = run_tool(tools, "file_read", path="n.txt", offset=4, limit=3)
    lines = result.content.split("\n")
    assert lines[:3] == ["     4\tline 4", "     5\tline 5", "     6\tline 6"]
    assert "offset=7" in lines[3]
    assert "of 10" in lines[3]


def test_file_read_returns_the_default_number_of_lines_when_no_limit_is_given(layout, run_tool):
    (layout.project / "n.txt").write_text("x\n" * 50)
    tools = BuiltinTools(project_dir=layout.project, limits=Limits(read_lines=20))
    result = run_tool(tools, "file_read", path="n.txt")
    assert result.content.count("\tx") == 20
    assert "offset=21" in result.content


def test_file_read_cuts_long_lines_and_says_how_much(layout, run_tool):
    (layout.project / "wide.txt").write_text("y" * 500 + "\n")
    tools = BuiltinTools(project_dir=layout.project, limits=Limits(line_chars=100))
    result = run_tool(tools, "file_read", path="wide.txt")
    assert "y" * 100 + " … [400 more characters" in result.content
    assert "y" * 101 not in result.content


def test_file_read_refuses_an_offset_past_the_end(layout, tools, run_tool):
    (layout.project / "a.txt").write_text("one\ntwo\n")
    result = run_tool(tools, "file_read", path="a.txt", offset=5)
    assert result.is_error
    assert "2 lines" in result.content


def test_file_read_says_when_a_file_is_empty(layout, tools, run_tool):
    (layout.project / "empty.txt").write_text("")
    result = run_tool(tools, "file_read", path="empty.txt")
    assert not result.is_error
    assert "empty" in result.content


def test_file_read_refuses_a_binary_file(layout, tools, run_tool):
    (layout.project / "blob.bin").write_bytes(b"PK\x03\x04\x00\x00binary")
    result = run_tool(tools, "file_read", path="blob.bin")
    assert result.is_error
    assert "binary" in result.content


def test_file_read_refuses_a_file_over_the_size_cap(layout, run_tool):
    (layout.project / "big.txt").write_text("z" * 2000)
    tools = BuiltinTools(project_dir=layout.project, limits=Limits(file_bytes=1000))
    result = run_tool(tools, "file_read", path="big.txt")
    assert result.is_error
    assert "2,000 bytes" in result.content
    assert "search" in result.content


def test_file_read_refuses_text_that_is_not_utf8(layout, tools, run_tool):
    (layout.project / "latin.txt").write_bytes("café\n".encode("latin-1"))
    result = run_tool(tools, "file_read", path="latin.txt")
    assert result.is_error
    assert "UTF-8" in result.content


def test_file_read_of_a_missing_file_or_a_directory_is_an_error_result(layout, tools, run_tool):
    missing = run_tool(tools, "file_read", path="nope.txt")
    assert missing.is_error
    assert "no such file" in missing.content
    (layout.project / "d").mkdir()
    directory = run_tool(tools, "file_read", path="d")
    assert directory.is_error
    assert "directory" in directory.content


def test_file_write_creates_parent_directories_and_reports_bytes(layout, tools, run_tool):
    result = run_tool(tools, "file_write", path="deep/er/new.txt", content="héllo\n")
    assert not result.is_error
    assert (layout.project / "deep" / "er" / "new.txt").read_text() == "héllo\n"
    assert "7 bytes" in result.content
    assert "new file" in result.content


def test_file_write_overwrites_an_existing_file(layout, tools, run_tool):
    (layout.project / "a.txt").write_text("old content")
    result = run_tool(tools, "file_write", path="a.txt", content="new")
    assert (layout.project / "a.txt").read_text() == "new"
    assert "replaced 11 bytes" in result.content


def test_file_write_refuses_a_directory_path(layout, tools, run_tool):
    (layout.project / "d").mkdir()
    result = run_tool(tools, "file_write", path="d", content="x")
    assert result.is_error
    assert "directory" in result.content


def test_file_edit_replaces_a_unique_string_and_returns_a_diff(layout, tools, run_tool):
    (layout.project / "m.py").write_text("def f():\n    return 1\n")
    result = run_tool(tools, "file_edit", path="m.py", old_string="return 1", new_string="return 2")
    assert not result.is_error
    assert (layout.project / "m.py").read_text() == "def f():\n    return 2\n"
    summary, _, diff = result.content.partition("\n\n")
    assert summary == "replaced 1 occurrence in m.py"
    assert "--- a/m.py" in diff
    assert "-    return 1" in diff
    assert "+    return 2" in diff


def test_file_edit_fails_when_old_string_is_missing(layout, tools, run_tool):
    (layout.project / "m.py").write_text("x = 1\n")
    result = run_tool(tools, "file_edit", path="m.py", old_string="y = 1", new_string="y = 2")
    assert result.is_error
    assert "not found" in result.content
    assert (layout.project / "m.py").read_text() == "x = 1\n"


def test_file_edit_fails_when_old_string_is_not_unique(layout, tools, run_tool):
    (layout.project / "m.py").write_text("x = 1\nx = 1\n")
    result = run_tool(tools, "file_edit", path="m.py", old_string="x = 1", new_string="x = 2")
    assert result.is_error
    assert "2 times" in result.content
    assert "replace_all" in result.content
    assert (layout.project / "m.py").read_text() == "x = 1\nx = 1\n"


def test_file_edit_replaces_every_occurrence_with_replace_all(layout, tools, run_tool):
    (layout.project / "m.py").write_text("x = 1\ny\nx = 1\n")
    result = run_tool(
        tools, "file_edit", path="m.py", old_string="x = 1", new_string="x = 2", replace_all=True
    )
    assert not result.is_error
    assert result.content.startswith("replaced 2 occurrences in m.py")
    assert (layout.project / "m.py").read_text() == "x = 2\ny\nx = 2\n"


def test_file_edit_keeps_windows_line_endings(layout, tools, run_tool):
    (layout.project / "w.txt").write_bytes(b"a\r\nb\r\n")
    run_tool(tools, "file_edit", path="w.txt", old_string="b", new_string="c")
    assert (layout.project / "w.txt").read_bytes() == b"a\r\nc\r\n"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({"old_string": "", "new_string": "x"}, "empty"),
        ({"old_string": "same", "new_string": "same"}, "same"),
    ],
)
def test_file_edit_refuses_an_empty_or_unchanged_replacement(
    layout, tools, run_tool, edit, expected
):
    (layout.project / "m.py").write_text("same\n")
    result = run_tool(tools, "file_edit", path="m.py", **edit)
    assert result.is_error
    assert expected in result.content
    assert (layout.project / "m.py").read_text() == "same\n"


def test_file_edit_of_a_missing_file_points_to_file_write(layout, tools, run_tool):
    result = run_tool(tools, "file_edit", path="nope.py", old_string="a", new_string="b")
    assert result.is_error
    assert "file_write" in result.content


def test_file_edit_refuses_a_binary_file(layout, tools, run_tool):
    (layout.project / "b.bin").write_bytes(b"a\x00b")
    result = run_tool(tools, "file_edit", path="b.bin", old_string="a", new_string="c")
    assert result.is_error
    assert "binary" in result.content
    assert (layout.project / "b.bin").read_bytes() == b"a\x00b"
