"""The search tool: regex over text files, skipping what a project never wants searched."""

from __future__ import annotations

import pytest

from collet_nb.adapters.tools import BuiltinTools, Limits


@pytest.fixture
def tools(layout):
    return BuiltinTools(project_dir=layout.project)


def write(root, relative, text):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_search_returns_path_line_and_text_for_each_match(layout, tools, run_tool):
    write(layout.project, "src/a.py", "import os\ndef needle():\n    pass\n")
    write(layout.project, "b.txt", "no\nneedle here\n")
    result = run_tool(tools, "search", pattern=r"needle")
    assert not result.is_error
    assert result.content.split("\n") == ["b.txt:2: needle here", "src/a.py:2: def needle():"]


def test_search_skips_vcs_tool_and_cache_directories(layout, tools, run_tool):
    for skipped in (".git", "node_modules", ".venv", "__pycache__"):
        write(layout.project, f"{skipped}/x.txt", "needle\n")
    write(layout.project, "kept.txt", "needle\n")
    result = run_tool(tools, "search", pattern="needle")
    assert result.content == "kept.txt:1: needle"


def test_search_skips_binary_files(layout, tools, run_tool):
    (layout.project / "blob.bin").write_bytes(b"needle\x00\x01")
    write(layout.project, "kept.txt", "needle\n")
    assert run_tool(tools, "search", pattern="needle").content == "kept.txt:1: needle"


def test_search_honours_simple_root_gitignore_patterns(layout, tools, run_tool):
    write(layout.project, ".gitignore", "# comment\n*.log\nbuild/\n/out.txt\n")
    write(layout.project, "app.log", "needle\n")
    write(layout.project, "sub/deep.log", "needle\n")
    write(layout.project, "build/gen.py", "needle\n")
    write(layout.project, "out.txt", "needle\n")
    write(layout.project, "sub/out.txt", "needle\n")
    result = run_tool(tools, "search", pattern="needle")
    assert result.content == "sub/out.txt:1: needle"


def test_search_filters_by_glob_on_names_or_paths(layout, tools, run_tool):
    write(layout.project, "src/a.py", "needle\n")
    write(layout.project, "src/a.txt", "needle\n")
    write(layout.project, "tests/t.py", "needle\n")
    by_name = run_tool(tools, "search", pattern="needle", glob="*.py")
    assert by_name.content == "src/a.py:1: needle\ntests/t.py:1: needle"
    by_path = run_tool(tools, "search", pattern="needle", glob="src/*")
    assert by_path.content == "src/a.py:1: needle\nsrc/a.txt:1: needle"


def test_search_limits_itself_to_the_given_path(layout, tools, run_tool):
    write(layout.project, "src/a.py", "needle\n")
    write(layout.project, "other/b.py", "needle\n")
    assert run_tool(tools, "search", pattern="needle", path="src").content == "src/a.py:1: needle"
    assert run_tool(tools, "search", pattern="needle", path="src/a.py").content == (
        "src/a.py:1: needle"
    )


def test_search_caps_the_number_of_matches_and_says_so(layout, run_tool):
    write(layout.project, "many.txt", "needle\n" * 50)
    tools = BuiltinTools(project_dir=layout.project, limits=Limits(search_matches=10))
    lines = run_tool(tools, "search", pattern="needle").content.split("\n")
    assert len(lines) == 11
    assert "first 10 matches" in lines[-1]


def test_search_reports_no_matches_plainly(layout, tools, run_tool):
    write(layout.project, "a.txt", "hay\n")
    result = run_tool(tools, "search", pattern="needle")
    assert not result.is_error
    assert result.content.startswith("no matches for 'needle'")


def test_search_rejects_an_invalid_regex_with_an_error_result(tools, run_tool):
    result = run_tool(tools, "search", pattern="(unclosed")
    assert result.is_error
    assert "invalid regular expression" in result.content


def test_search_of_a_missing_path_is_an_error_result(tools, run_tool):
    result = run_tool(tools, "search", pattern="x", path="nowhere")
    assert result.is_error
    assert "does not exist" in result.content


def test_search_follows_a_symlink_that_stays_inside_the_project(layout, tools, run_tool):
    write(layout.project, "real/a.txt", "needle\n")
    (layout.project / "alias.txt").symlink_to(layout.project / "real" / "a.txt")
    result = run_tool(tools, "search", pattern="needle")
    assert result.content == "alias.txt:1: needle\nreal/a.txt:1: needle"
