"""A tool result (or a prompt) as the model reads it: text blocks joined, images apart (they go
to models that take images as image parts), other binary content as placeholders.

Audio and other blobs cannot go back as tool text: the model learns what came and how big it
was.
"""

from __future__ import annotations

import json
from typing import Any

from collet_nb.adapters.tools.output import truncate_middle
from collet_nb.core.images import Image, decoded_size, image_of


def render_result(result: Any, *, cap: int, images_apart: bool = False) -> tuple[str, bool]:
    """The text of an ``mcp.types.CallToolResult`` (at most ``cap`` chars) and its error flag.

    With ``images_apart``, the images :func:`result_images` takes are left out of the text
    (they travel as images, described where a model takes none).
    """
    blocks = [b for b in result.content if not (images_apart and _image(b, "") is not None)]
    parts = [block_text(block) for block in blocks]
    if not parts and images_apart and len(blocks) < len(result.content):
        return "", bool(result.is_error)
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
        text = block_text(message.content)
        parts.append(f"(assistant) {text}" if str(message.role) == "assistant" else text)
    return "\n\n".join(parts)


def result_images(result: Any, *, source: str) -> tuple[Image, ...]:
    """The raster images of an ``mcp.types.CallToolResult``: image blocks and embedded
    image resources, in order."""
    found = (_image(block, source) for block in result.content)
    return tuple(image for image in found if image is not None)


def _image(block: Any, source: str) -> Image | None:
    kind = getattr(block, "type", "")
    if kind == "image":
        return image_of(str(block.mime_type), block.data, source=source)
    if kind == "resource":
        resource = block.resource
        mime = getattr(resource, "mime_type", None) or ""
        blob = getattr(resource, "blob", None)
        if blob is not None:
            return image_of(mime, blob, source=f"{source} {resource.uri}".strip())
    return None


def block_text(block: Any) -> str:
    """One content block as the model reads it: its text, else a short description."""
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


_decoded_size = decoded_size
