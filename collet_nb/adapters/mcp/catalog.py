"""The MCP tools as the model sees them: ``mcp__<server>__<tool>`` names and their specs.

A tool name a provider would refuse (characters outside ``[A-Za-z0-9_-]``, more than 64 of them)
is made safe; the catalog maps every model-facing name back to its server and original name.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from collet_nb.core.chat import ToolSpec

logger = logging.getLogger(__name__)

PREFIX = "mcp__"
MAX_NAME = 64  # the longest tool name OpenAI-compatible providers accept
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True, kw_only=True)
class McpTool:
    """One tool a server listed.

    Attributes:
        name: its name on the server.
        description: what it does, for the model.
        input_schema: its JSON schema.
        read_only: whether the server annotated it ``readOnlyHint: true``.
        needs_task: whether its ``execution.taskSupport`` is ``required``: it only runs as an
            MCP task, which this client does not support, so it is not offered.
    """

    name: str
    description: str = ""
    input_schema: Mapping[str, Any] = field(default_factory=dict)
    read_only: bool = False
    needs_task: bool = False

    @classmethod
    def from_listing(cls, tool: Any) -> McpTool:
        """Read an ``mcp.types.Tool``."""
        annotations = getattr(tool, "annotations", None)
        execution = getattr(tool, "execution", None)
        return cls(
            name=tool.name,
            description=tool.description or getattr(tool, "title", None) or "",
            input_schema=dict(tool.input_schema or {}),
            read_only=bool(annotations is not None and annotations.read_only_hint is True),
            needs_task=getattr(execution, "task_support", None) == "required",
        )


@dataclass(frozen=True, kw_only=True)
class McpResource:
    """One resource a server listed (``/mcp resources NAME``).

    Attributes:
        uri: its URI.
        name: its name (or title).
        mime_type: its MIME type, when the server says.
        description: what it is, when the server says.
    """

    uri: str
    name: str = ""
    mime_type: str | None = None
    description: str = ""

    @classmethod
    def from_listing(cls, resource: Any) -> McpResource:
        """Read an ``mcp.types.Resource``."""
        return cls(
            uri=str(resource.uri),
            name=resource.name or getattr(resource, "title", None) or "",
            mime_type=getattr(resource, "mime_type", None),
            description=getattr(resource, "description", None) or "",
        )


@dataclass(frozen=True, kw_only=True)
class McpPromptArgument:
    """One argument of a prompt: its name, what it is, whether it must be given."""

    name: str
    description: str = ""
    required: bool = False


@dataclass(frozen=True, kw_only=True)
class McpPrompt:
    """One prompt a server listed (``/mcp prompts NAME``, ``/prompt SERVER NAME``).

    Attributes:
        name: its name on the server.
        description: what it is for.
        arguments: what it takes, in the server's order.
    """

    name: str
    description: str = ""
    arguments: tuple[McpPromptArgument, ...] = ()

    @classmethod
    def from_listing(cls, prompt: Any) -> McpPrompt:
        """Read an ``mcp.types.Prompt``."""
        return cls(
            name=prompt.name,
            description=prompt.description or getattr(prompt, "title", None) or "",
            arguments=tuple(
                McpPromptArgument(
                    name=arg.name,
                    description=arg.description or getattr(arg, "title", None) or "",
                    required=bool(arg.required),
                )
                for arg in (prompt.arguments or ())
            ),
        )

    @property
    def required(self) -> tuple[str, ...]:
        """The names of the arguments that must be given."""
        return tuple(arg.name for arg in self.arguments if arg.required)

    def usage(self, server: str) -> str:
        """``/prompt SERVER NAME key=VALUE [key=VALUE]``: how to send it."""
        words = [f"{a.name}=VALUE" if a.required else f"[{a.name}=VALUE]" for a in self.arguments]
        return " ".join([f"/prompt {server} {self.name}", *words])


def qualified_name(server: str, tool: str) -> str:
    """The model-facing name of ``tool`` of ``server``: ``mcp__<server>__<tool>``, made safe."""
    name = f"{PREFIX}{server}__{_UNSAFE.sub('_', tool)}"
    if len(name) <= MAX_NAME:
        return name
    # Keep it unique: a digest of the original name replaces the cut-off end.
    digest = hashlib.sha256(tool.encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9]}_{digest}"


def _parameters(schema: Mapping[str, Any]) -> dict[str, Any]:
    # Providers want an object schema at the root; a server that lists none takes no arguments.
    parameters = dict(schema)
    parameters.setdefault("type", "object")
    if parameters["type"] == "object":
        parameters.setdefault("properties", {})
    return parameters


class Catalog:
    """The tools of every server, by model-facing name (those that need tasks left out)."""

    def __init__(self, tools: Mapping[str, Iterable[McpTool]]) -> None:
        """Build the catalog from each server's listed tools (in the servers' order)."""
        self._entries: dict[str, tuple[str, McpTool]] = {}
        specs: list[ToolSpec] = []
        for server, listed in tools.items():
            for tool in listed:
                if tool.needs_task:
                    continue  # it would always fail here: /mcp list says why it is missing
                name = qualified_name(server, tool.name)
                if name in self._entries:
                    logger.warning(
                        "MCP server %r: tool %r is offered as %s, like %r: only the first is kept",
                        server, tool.name, name, self._entries[name][1].name,
                    )  # fmt: skip
                    continue
                self._entries[name] = (server, tool)
                specs.append(
                    ToolSpec(
                        name=name,
                        description=tool.description or f"{tool.name} (MCP server {server})",
                        parameters=_parameters(tool.input_schema),
                        read_only=tool.read_only,
                    )
                )
        self.specs = tuple(specs)

    def resolve(self, name: str) -> tuple[str, McpTool] | None:
        """The server and tool behind a model-facing name, or None."""
        return self._entries.get(name)

    def names(self) -> tuple[str, ...]:
        """Every model-facing name."""
        return tuple(self._entries)
