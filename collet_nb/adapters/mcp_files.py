"""Reads a session's MCP configuration: ``$COLLET_HOME/mcp.json`` and ``<project>/.collet/mcp.json``
(the project's entry wins per server name). Only file reading lives here; the parsing is pure
(``collet_nb.core.mcp_config``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from collet_nb.core.chat import ToolCall, ToolResult, ToolSpec
from collet_nb.core.mcp_config import McpServerConfig, merge, parse_mcp_config
from collet_nb.core.ports import ToolSource
from collet_nb.errors import ConfigError

MCP_FILE = "mcp.json"


def mcp_files(project_dir: Path, home: Path) -> tuple[Path, Path]:
    """The global and the project mcp.json, in that order (later wins)."""
    return home / MCP_FILE, project_dir / ".collet" / MCP_FILE


def load_mcp_servers(
    project_dir: Path, home: Path, env: Mapping[str, str]
) -> dict[str, McpServerConfig]:
    """The merged servers of both files (missing files count as empty).

    Raises:
        ConfigError: for an unreadable or invalid file, naming it and what to fix.
    """
    merged: dict[str, McpServerConfig] = {}
    for path in mcp_files(project_dir, home):
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"cannot read {path}: {exc}; fix or remove the file", key=str(path)
            ) from None
        merged = merge(merged, parse_mcp_config(text, source=str(path), env=env))
    return merged


class BrokenMcpConfig(ToolSource):
    """Stands in for the MCP manager when mcp.json cannot be used: no MCP tools, and the
    reason told once (at the first turn) and in ``/mcp list``; the session works without them.

    A ``collet_nb.core.ports.ToolSource``.
    """

    def __init__(self, error: ConfigError) -> None:
        self.error = error
        self._told = False

    def specs(self) -> tuple[ToolSpec, ...]:
        """No tools."""
        return ()

    async def call(self, call: ToolCall, arguments: Mapping[str, Any]) -> ToolResult:
        """Every call fails with the configuration error."""
        return ToolResult(
            call_id=call.id,
            name=call.name,
            content=f"MCP tools are unavailable: {self.error}",
            is_error=True,
        )

    async def prepare(self) -> list[str]:
        """The configuration error, the first time only."""
        if self._told:
            return []
        self._told = True
        return [f"MCP servers not started: {self.error}"]
