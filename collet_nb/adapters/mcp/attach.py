"""A resource read for an ``@server:uri`` mention, as the block attached to the message: its text
(capped), or for a binary resource its MIME type and size.

Images: an image resource is described in the block (``image/png, 68 bytes``) and goes with
the message as an image (``ResourceRead.pictures``), which a model that takes images sees.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from typing import Any

from collet_nb.core.images import Image, image_of
from collet_nb.core.mentions import ResourceMention

FILE_CHARS = 20_000  # of one resource's text (as for an @file mention)
TOTAL_CHARS = 40_000  # of all the resources of one message


@dataclass(frozen=True, kw_only=True)
class Blob:
    """A binary part of a resource: its URI, MIME type, base64 data and size in bytes."""

    uri: str
    mime_type: str
    data: str
    size: int


@dataclass(frozen=True, kw_only=True)
class ResourceRead:
    """What ``resources/read`` returned: the text parts joined, and the binary parts."""

    uri: str
    mime_type: str
    text: str
    blobs: tuple[Blob, ...] = ()

    @property
    def images(self) -> tuple[Blob, ...]:
        """The image parts."""
        return tuple(b for b in self.blobs if b.mime_type.startswith("image/"))

    def pictures(self, source: str) -> tuple[Image, ...]:
        """The raster images among its parts, to go with the message as images."""
        found = (image_of(b.mime_type, b.data, source=source) for b in self.images)
        return tuple(image for image in found if image is not None)


def read_of(uri: str, result: Any) -> ResourceRead:
    """Read an SDK ``ReadResourceResult``."""
    texts: list[str] = []
    blobs: list[Blob] = []
    mimes: list[str] = []
    for part in result.contents:
        mime = str(getattr(part, "mime_type", None) or "")
        if mime:
            mimes.append(mime)
        text = getattr(part, "text", None)
        if text is not None:
            texts.append(str(text))
            continue
        data = str(getattr(part, "blob", "") or "")
        blobs.append(
            Blob(uri=str(part.uri), mime_type=mime or "application/octet-stream", data=data,
                 size=_size(data))
        )  # fmt: skip
    return ResourceRead(
        uri=uri, mime_type=mimes[0] if mimes else "", text="\n".join(texts), blobs=tuple(blobs)
    )


def _size(data: str) -> int:
    try:
        return len(binascii.a2b_base64(data))
    except (binascii.Error, ValueError):
        return len(data)


def block(mention: ResourceMention, read: ResourceRead, *, cap: int = FILE_CHARS) -> str:
    """The attachment of one mention: a head line, then its text (cut at ``cap``), then one
    line per binary part."""
    kind = f", {read.mime_type}" if read.mime_type else ""
    lines = [f"@{mention.token} (MCP resource of {mention.server}{kind}):"]
    text = read.text
    if len(text) > cap:
        text = f"{text[:cap]}\n[… cut at {cap:,} characters]"
    if text:
        lines.append(text)
    lines.extend(
        f"[{b.mime_type}, {b.size:,} bytes: "
        + ("an image, attached as one]" if _picture(b) else "binary content, not attached as text]")
        for b in read.blobs
    )
    if not text and not read.blobs:
        lines.append("(empty)")
    return "\n".join(lines)


def _picture(blob: Blob) -> bool:
    image = image_of(blob.mime_type, blob.data)
    return image is not None and image.sendable


def summary(read: ResourceRead) -> str:
    """A few words on what was attached: ``text/markdown, 1,234 characters``."""
    parts = [read.mime_type] if read.mime_type else []
    if read.text:
        parts.append(f"{len(read.text):,} characters")
    parts.extend(f"{b.mime_type} {b.size:,} bytes" for b in read.blobs)
    return ", ".join(parts) or "empty"
