"""The MCP manager: one owner task per configured server, their tools behind a ``ToolPort``.

Importing this package does not import ``mcp`` (≈0.5 s): that happens when a server starts.
"""

from __future__ import annotations

from collet_nb.adapters.mcp.manager import McpManager
from collet_nb.adapters.mcp.state import ServerState, ServerStatus

__all__ = ["McpManager", "ServerState", "ServerStatus"]
