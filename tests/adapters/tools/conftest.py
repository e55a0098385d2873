"""Fixtures for the built-in tools: a project inside a workspace, and an outside directory."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from collet_nb.adapters.tools import BuiltinTools
from collet_nb.core.chat import ToolCall, ToolResult


@dataclass(frozen=True)
class Layout:
    """tmp/ws/proj is the project, tmp/ws the workspace, tmp/outside is out of both."""

    root: Path
    workspace: Path
    project: Path
    outside: Path
    secret: Path


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    root = tmp_path.resolve()
    workspace = root / "ws"
    project = workspace / "proj"
    outside = root / "outside"
    project.mkdir(parents=True)
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("TOP SECRET\n")
    (workspace / "sibling.txt").write_text("sibling of the project\n")
    (project / "link_file_out").symlink_to(secret)
    (project / "link_dir_out").symlink_to(outside)
    return Layout(root, workspace, project, outside, secret)


def call_tool(tools: BuiltinTools, name: str, **arguments: Any) -> ToolResult:
    """Run one tool call to completion on a fresh event loop."""
    call = ToolCall(id="call-1", name=name, arguments=json.dumps(arguments))
    return asyncio.run(tools.call(call, arguments))


@pytest.fixture
def run_tool():
    return call_tool
