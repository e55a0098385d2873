"""BuiltinTools as a ToolPort: its specs, and failures that come back as results."""

from __future__ import annotations

import asyncio
import errno
import threading
from pathlib import Path

import pytest

from collet_nb.adapters.tools import BuiltinTools
from collet_nb.core.chat import ToolCall
from collet_nb.core.ports import ToolPort


@pytest.fixture
def tools(layout):
    return BuiltinTools(project_dir=layout.project)


def test_builtin_tools_offer_the_five_tools_with_read_only_set_right(tools):
    specs = {spec.name: spec for spec in tools.specs()}
    assert set(specs) == {"file_read", "file_write", "file_edit", "bash", "search"}
    assert {name for name, spec in specs.items() if spec.read_only} == {"file_read", "search"}
    for spec in specs.values():
        assert spec.parameters["type"] == "object"
        assert set(spec.parameters["required"]) <= set(spec.parameters["properties"])


def test_builtin_tools_satisfy_the_tool_port(tools):
    port: ToolPort = tools
    assert port.specs()


def test_an_unknown_tool_is_an_error_result_naming_the_tools(tools, run_tool):
    result = run_tool(tools, "teleport")
    assert result.is_error
    assert "file_read" in result.content
    assert result.name == "teleport"
    assert result.call_id == "call-1"


def test_missing_required_arguments_are_named(tools, run_tool):
    result = run_tool(tools, "file_edit", path="a.txt")
    assert result.is_error
    assert "missing required argument 'old_string'" in result.content
    assert "missing required argument 'new_string'" in result.content
    assert "file_edit {path, old_string, new_string, replace_all?}" in result.content


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("file_read", {"path": 3}, "'path' must be a string, not a number"),
        ("file_read", {"path": "a", "offset": "2"}, "'offset' must be an integer, not a string"),
        ("file_read", {"path": "a", "limit": 2.5}, "'limit' must be an integer"),
        ("file_read", {"path": "a", "offset": 0}, "'offset' must be at least 1"),
        (
            "file_edit",
            {"path": "a", "old_string": "x", "new_string": "y", "replace_all": "yes"},
            "'replace_all' must be a boolean",
        ),
        ("bash", {"command": ["ls"]}, "'command' must be a string, not an array"),
        ("bash", {"command": "true", "timeout": True}, "'timeout' must be a number"),
        ("file_write", {"path": "a", "content": None}, "missing required argument 'content'"),
        ("search", {"pattern": "x", "regex": "y"}, "unknown argument 'regex'"),
    ],
)
def test_wrongly_typed_arguments_are_error_results_not_exceptions(
    tools, run_tool, name, arguments, expected
):
    result = run_tool(tools, name, **arguments)
    assert result.is_error
    assert expected in result.content


def test_an_optional_argument_sent_as_null_counts_as_absent(layout, tools, run_tool):
    (layout.project / "a.txt").write_text("one\n")
    result = run_tool(tools, "file_read", path="a.txt", offset=None, limit=None)
    assert result.content == "     1\tone"


def test_an_integral_float_is_accepted_as_an_integer(layout, tools, run_tool):
    (layout.project / "a.txt").write_text("one\ntwo\n")
    assert run_tool(tools, "file_read", path="a.txt", offset=2.0).content == "     2\ttwo"


def test_writing_under_a_file_is_an_error_result(layout, tools, run_tool):
    (layout.project / "plain").write_text("a file, not a directory")
    result = run_tool(tools, "file_write", path="plain/child.txt", content="x")
    assert result.is_error
    assert "plain is a file" in result.content


def test_a_permission_error_is_an_error_result(layout, tools, run_tool, monkeypatch):
    (layout.project / "locked.txt").write_text("x")

    def refuse(self):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    # Root reads files whatever their mode, so the refusal is simulated at the OS edge.
    monkeypatch.setattr(Path, "read_bytes", refuse)
    result = run_tool(tools, "file_read", path="locked.txt")
    assert result.is_error
    assert result.content.startswith("permission denied:")
    assert "locked.txt" in result.content


def test_an_unexpected_exception_becomes_an_error_result(tools, run_tool, monkeypatch, caplog):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("collet_nb.adapters.tools.builtin.file_read", explode)
    result = run_tool(tools, "file_read", path="a.txt")
    assert result.is_error
    assert "RuntimeError: boom" in result.content
    assert "built-in tool file_read failed" in caplog.text


def test_cancellation_of_a_tool_call_propagates_instead_of_becoming_a_result(tools, monkeypatch):
    entered = threading.Event()
    release = threading.Event()

    def stuck(*args, **kwargs):
        entered.set()
        release.wait(10)
        return "late"

    monkeypatch.setattr("collet_nb.adapters.tools.builtin.file_read", stuck)

    async def scenario():
        call = ToolCall(id="c", name="file_read")
        task = asyncio.ensure_future(tools.call(call, {"path": "a.txt"}))
        assert await asyncio.to_thread(entered.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()  # let the worker thread finish before the loop closes

    asyncio.run(scenario())
