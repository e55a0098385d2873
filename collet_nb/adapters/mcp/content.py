"""A tool result (or a prompt) as the model reads it: text blocks joined, binary content as
placeholders.

Images and audio cannot go back as tool text: the model learns what came and how big it was.
"""

from __future__ import annotations

import json
from typing import Any

from collet_nb.adapters.tools.output import truncate_middle


def render_result(result: Any, *, cap: int) -> tuple[str, bool]:
    """The text of an ``mcp.types.CallToolResult`` (at most ``cap`` chars) and its error flag."""
    parts = [_render_block(block) for block in result.content]
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    text = "\n".join(parts) if parts else "(no output)"
    return truncate_middle(text, cap), bool(result.is_error)


def prompt_text(result: Any) -> str:
    """The text of an ``mcp.types.GetPromptResult`` as one user message: its messages' text in
    order, a blank line apart; non-text content as a short description (``[image: …]``); a
    message the prompt gives the assistant marked ``(assistant)``."""
    parts = []
    for message in result.messages:
        text = _render_block(message.content)
        parts.append(f"(assistant) {text}" if str(message.role) == "assistant" else text)
    return "\n\n".join(parts)


def _render_block(block: Any) -> str:
    kind = getattr(block, "type", "")
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        return f"[{kind}: {block.mime_type}, {_decoded_size(block.data)} bytes]"
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        if text is not None:
            return f"[resource {resource.uri}]\n{text}"
        mime = getattr(resource, "mime_type", None) or "application/octet-stream"
        return f"[resource {resource.uri}: {mime}, {_decoded_size(resource.blob)} bytes]"
    if kind == "resource_link":
        return f"[resource link: {block.uri} ({block.name})]"
    return f"[{kind or 'unknown'} content]"


def _decoded_size(data: str) -> int:
    """Bytes a base64 text decodes to, without decoding it."""
    data = data.strip()
    return len(data) * 3 // 4 - data[-2:].count("=") if data else 0
