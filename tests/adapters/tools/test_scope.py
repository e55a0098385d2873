"""The workspace scope check, directly and through the file tools."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collet_nb.adapters.tools import BuiltinTools, resolve_in_scope
from collet_nb.core.chat import ToolCall
from collet_nb.core.kinds import WorkspaceScope
from collet_nb.errors import ScopeError

ESCAPES = [
    "../../outside/secret.txt",
    "../sibling.txt",
    "a/../../sibling.txt",
    "link_file_out",
    "link_dir_out/secret.txt",
    "./link_dir_out/../outside/secret.txt",
]


def outside_state(layout):
    return sorted(
        (str(p.relative_to(layout.root)), p.read_bytes() if p.is_file() else b"")
        for p in layout.root.rglob("*")
        if not p.is_relative_to(layout.project)
    )


@pytest.mark.parametrize("path", ESCAPES)
def test_resolve_in_scope_refuses_a_path_that_leaves_the_project(layout, path):
    with pytest.raises(ScopeError) as caught:
        resolve_in_scope(
            path, project_dir=layout.project, scope=WorkspaceScope.PROJECT, tool="file_read"
        )
    assert caught.value.tool == "file_read"
    assert caught.value.path == path
    assert caught.value.scope == "project"


def test_resolve_in_scope_refuses_an_absolute_path_outside_the_project(layout):
    with pytest.raises(ScopeError):
        resolve_in_scope(
            str(layout.secret), project_dir=layout.project, scope=WorkspaceScope.PROJECT, tool="t"
        )


def test_resolve_in_scope_refuses_a_home_path_outside_the_project(layout, monkeypatch):
    monkeypatch.setenv("HOME", str(layout.outside))
    with pytest.raises(ScopeError):
        resolve_in_scope(
            "~/secret.txt", project_dir=layout.project, scope=WorkspaceScope.PROJECT, tool="t"
        )


def test_resolve_in_scope_judges_a_new_file_under_a_symlinked_dir_by_the_link_target(layout):
    with pytest.raises(ScopeError):
        resolve_in_scope(
            "link_dir_out/new/deeper.txt",
            project_dir=layout.project,
            scope=WorkspaceScope.PROJECT,
            tool="file_write",
        )


def test_resolve_in_scope_returns_the_resolved_path_for_a_path_inside(layout):
    (layout.project / "src").mkdir()
    (layout.project / "link_in").symlink_to(layout.project / "src")
    resolved = resolve_in_scope(
        "link_in/../link_in/new.py",
        project_dir=layout.project,
        scope=WorkspaceScope.PROJECT,
        tool="file_write",
    )
    assert resolved == layout.project / "src" / "new.py"


def test_the_scope_error_tells_the_model_where_it_may_go_and_how_to_widen(layout):
    with pytest.raises(ScopeError) as caught:
        resolve_in_scope(
            "../sibling.txt", project_dir=layout.project, scope=WorkspaceScope.PROJECT, tool="t"
        )
    message = str(caught.value)
    assert str(layout.workspace / "sibling.txt") in message
    assert f"use a path under {layout.project}" in message
    assert "/workspace workspace" in message


def test_a_dangling_symlink_to_outside_is_judged_by_its_target(layout):
    (layout.project / "dangling").symlink_to(layout.outside / "ghost.txt")
    with pytest.raises(ScopeError):
        resolve_in_scope(
            "dangling", project_dir=layout.project, scope=WorkspaceScope.PROJECT, tool="t"
        )


@pytest.mark.parametrize("path", [*ESCAPES, "ABSOLUTE", "~/secret.txt"])
def test_file_read_refuses_every_escape_and_reads_nothing_outside(
    layout, run_tool, monkeypatch, path
):
    monkeypatch.setenv("HOME", str(layout.outside))
    path = str(layout.secret) if path == "ABSOLUTE" else path
    tools = BuiltinTools(project_dir=layout.project)
    result = run_tool(tools, "file_read", path=path)
    assert result.is_error
    assert "TOP SECRET" not in result.content
    assert "scope: project" in result.content


@pytest.mark.parametrize(
    "path",
    [*ESCAPES, "ABSOLUTE", "~/secret.txt", "link_dir_out/new.txt", "link_dir_out/new/deep.txt"],
)
def test_file_write_refuses_every_escape_and_changes_nothing_outside(
    layout, run_tool, monkeypatch, path
):
    monkeypatch.setenv("HOME", str(layout.outside))
    path = str(layout.secret) if path == "ABSOLUTE" else path
    before = outside_state(layout)
    tools = BuiltinTools(project_dir=layout.project)
    result = run_tool(tools, "file_write", path=path, content="PWNED")
    assert result.is_error
    assert "scope: project" in result.content
    assert outside_state(layout) == before


@pytest.mark.parametrize("path", ["link_file_out", "link_dir_out/secret.txt", "../sibling.txt"])
def test_file_edit_refuses_an_escape_and_leaves_the_target_unchanged(layout, run_tool, path):
    before = outside_state(layout)
    tools = BuiltinTools(project_dir=layout.project)
    result = run_tool(tools, "file_edit", path=path, old_string="TOP", new_string="NOT")
    assert result.is_error
    assert outside_state(layout) == before


def test_search_refuses_a_path_outside_and_skips_symlinks_that_lead_out(layout, run_tool):
    tools = BuiltinTools(project_dir=layout.project)
    refused = run_tool(tools, "search", pattern="SECRET", path="../../outside")
    assert refused.is_error
    assert "scope: project" in refused.content
    walked = run_tool(tools, "search", pattern="SECRET")
    assert not walked.is_error
    assert "TOP SECRET" not in walked.content


def test_workspace_scope_allows_the_projects_parent_but_not_beyond(layout, run_tool):
    tools = BuiltinTools(project_dir=layout.project, scope=WorkspaceScope.WORKSPACE)
    sibling = run_tool(tools, "file_read", path="../sibling.txt")
    assert not sibling.is_error
    assert "sibling of the project" in sibling.content
    written = run_tool(tools, "file_write", path="../other/note.txt", content="hi")
    assert not written.is_error
    assert (layout.workspace / "other" / "note.txt").read_text() == "hi"
    refused = run_tool(tools, "file_read", path="../../outside/secret.txt")
    assert refused.is_error
    assert "scope: workspace" in refused.content
    assert "/workspace full" in refused.content


def test_full_scope_allows_any_path_including_home_and_links_out(layout, run_tool, monkeypatch):
    monkeypatch.setenv("HOME", str(layout.outside))
    tools = BuiltinTools(project_dir=layout.project, scope=WorkspaceScope.FULL)
    assert "TOP SECRET" in run_tool(tools, "file_read", path="link_file_out").content
    assert "TOP SECRET" in run_tool(tools, "file_read", path="~/secret.txt").content
    written = run_tool(tools, "file_write", path=str(layout.outside / "made.txt"), content="x")
    assert not written.is_error
    assert (layout.outside / "made.txt").read_text() == "x"


def test_the_scope_can_be_changed_between_calls(layout, run_tool):
    tools = BuiltinTools(project_dir=layout.project)
    assert run_tool(tools, "file_read", path="../sibling.txt").is_error
    tools.scope = WorkspaceScope.WORKSPACE
    assert not run_tool(tools, "file_read", path="../sibling.txt").is_error
    current = {"scope": WorkspaceScope.PROJECT}
    tools.scope = lambda: current["scope"]
    assert run_tool(tools, "file_read", path="../sibling.txt").is_error
    current["scope"] = WorkspaceScope.FULL
    assert not run_tool(tools, "file_read", path="link_file_out").is_error


# --- property: whatever relative path the model makes up, nothing escapes -------------------

SEGMENTS = st.sampled_from(["a", "b", "..", ".", "", "link_out", "link_in", "dangling_out", "f"])


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    root = tmp_path_factory.mktemp("prop").resolve()
    project = root / "ws" / "proj"
    sentinel = root / "sentinel"
    (project / "a" / "b").mkdir(parents=True)
    sentinel.mkdir()
    (project / "link_out").symlink_to(sentinel)
    (project / "a" / "link_out").symlink_to(sentinel)
    (project / "link_in").symlink_to(project / "a")
    (project / "dangling_out").symlink_to(sentinel / "ghost")
    (project / "a" / "dangling_out").symlink_to(root / "ws" / "ghost")
    return project, sentinel


@settings(max_examples=300, deadline=None)
@given(segments=st.lists(SEGMENTS, min_size=1, max_size=6))
def test_any_generated_path_resolves_inside_the_scope_or_is_refused(sandbox, segments):
    project, sentinel = sandbox
    path = "/".join(segments)
    expected = Path(os.path.realpath(project / path))
    try:
        resolved = resolve_in_scope(
            path, project_dir=project, scope=WorkspaceScope.PROJECT, tool="file_write"
        )
    except ScopeError:
        assert not expected.is_relative_to(project)
    else:
        assert resolved.is_relative_to(project)
        assert resolved == expected

    tools = BuiltinTools(project_dir=project)
    arguments = {"path": path, "content": "written"}
    call = ToolCall(id="p", name="file_write", arguments=json.dumps(arguments))
    asyncio.run(tools.call(call, arguments))
    assert list(sentinel.iterdir()) == []
    assert not (project.parent / "ghost").exists()
    assert sorted(p.name for p in project.parent.iterdir()) == ["proj"]
