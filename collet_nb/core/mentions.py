"""Mentions of MCP resources in a message: ``@server:uri`` (``@docs:file:///notes/a.md``,
``@everything:demo://resource/static/document/architecture.md``), found outside Markdown code
(pure). What a mention attaches goes after the message, below one separator shared with the
notebook's own mentions (``@name``, ``@path``, ``@cell:N``, in ``collet_nb/ui/mentions.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SEPARATOR = "\n\n---\nAttached for the @mentions above:"

# Markdown code: fenced blocks (maybe unclosed) and inline spans.
CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)
# @server:scheme:rest — a server name, then a URI with a scheme (``demo://…``, ``file:///…``).
RESOURCE = re.compile(
    r"(?<![\w@.\\/`~-])@([A-Za-z0-9_][\w.-]*):([A-Za-z][A-Za-z0-9+.-]*:[^\s`<>\"')\]]+)"
)
_TRAILING = ".,;:!?"


@dataclass(frozen=True, kw_only=True)
class ResourceMention:
    """One ``@server:uri`` of a message: the server's name in mcp.json and the URI."""

    server: str
    uri: str

    @property
    def token(self) -> str:
        """As typed, without the ``@``."""
        return f"{self.server}:{self.uri}"


def find_resource_mentions(
    text: str, servers: frozenset[str] | None = None
) -> list[ResourceMention]:
    """The resource mentions of ``text`` in order, each once, outside Markdown code; only those
    naming one of ``servers`` when given (``@cell:3`` names no server)."""
    code = [match.span() for match in CODE.finditer(text)]
    found: list[ResourceMention] = []
    for match in RESOURCE.finditer(text):
        if any(start <= match.start() < end for start, end in code):
            continue
        mention = ResourceMention(server=match.group(1), uri=match.group(2).rstrip(_TRAILING))
        if servers is not None and mention.server not in servers:
            continue
        if mention not in found:
            found.append(mention)
    return found


def with_attachments(text: str, blocks: list[str]) -> str:
    """``text`` with ``blocks`` after the separator (added once: the notebook's mentions may
    have put it there already)."""
    if not blocks:
        return text
    joined = "\n\n".join(blocks)
    if SEPARATOR in text:
        return f"{text.rstrip()}\n\n{joined}"
    return f"{text.rstrip()}{SEPARATOR}\n\n{joined}"
