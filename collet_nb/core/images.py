"""Images in the conversation: a plot of a cell, an image a tool returned.

An image travels as base64 text (as notebooks, MCP and both wire protocols carry it) with its
MIME type. Models that take images get it as an image part; the others, and every place that
shows text, get :meth:`Image.describe`. Pure: no decoding beyond the few header bytes that give
the size, which the context budget needs.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from dataclasses import dataclass
from functools import cached_property
from typing import Any

# What both OpenAI and Anthropic accept as image parts.
ACCEPTED_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# Anthropic's cap per image (OpenAI's is larger); a bigger image is described instead.
MAX_IMAGE_BYTES = 5 * 1024 * 1024
# Images one message or tool result carries at most; the rest are described.
MAX_IMAGES = 8
# Tokens an image costs when its size cannot be read (about a 1024×768 picture).
DEFAULT_IMAGE_TOKENS = 1_100
MAX_IMAGE_TOKENS = 1_600


@dataclass(frozen=True, kw_only=True)
class Image:
    """One image.

    Attributes:
        mime: its MIME type (``image/png`` …).
        data: its bytes, base64-encoded (no ``data:`` prefix, no line breaks).
        source: where it came from, for people and for the model (``cell 3``, ``mcp__x__plot``).
    """

    mime: str
    data: str
    source: str = ""

    @property
    def size(self) -> int:
        """Bytes the image decodes to (computed from the base64 text, not decoded)."""
        return decoded_size(self.data)

    @cached_property
    def dimensions(self) -> tuple[int, int] | None:
        """Width and height from the image's header; None when they cannot be read."""
        return dimensions(self)

    @property
    def data_url(self) -> str:
        """The ``data:`` URL of the image (OpenAI's ``image_url``, an ``<img src>``)."""
        return f"data:{self.mime};base64,{self.data}"

    @property
    def sendable(self) -> bool:
        """Whether a model that takes images can take this one (type and size)."""
        return self.mime in ACCEPTED_TYPES and 0 < self.size <= MAX_IMAGE_BYTES

    def describe(self) -> str:
        """One line saying what the image is: what a model without images reads."""
        where = f" from {self.source}" if self.source else ""
        dims = self.dimensions
        shape = f"{dims[0]}×{dims[1]} " if dims else ""
        return f"[image{where}: {shape}{self.mime}, {self.size:,} bytes]"

    def tokens(self) -> int:
        """Tokens the image is estimated to cost a model (Anthropic's width × height / 750,
        capped; what OpenAI charges at high detail is of the same order)."""
        dims = self.dimensions
        if dims is None:
            return DEFAULT_IMAGE_TOKENS
        return max(85, min(MAX_IMAGE_TOKENS, math.ceil(dims[0] * dims[1] / 750)))

    def to_dict(self) -> dict[str, str]:
        """A JSON-ready dict (for the journal and the view)."""
        data = {"mime": self.mime, "data": self.data}
        if self.source:
            data["source"] = self.source
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Image:
        """Inverse of :meth:`to_dict`."""
        return cls(
            mime=str(data["mime"]), data=str(data["data"]), source=str(data.get("source", ""))
        )


def decoded_size(data: str) -> int:
    """Bytes a base64 text decodes to, without decoding it."""
    data = data.strip()
    return len(data) * 3 // 4 - data[-2:].count("=") if data else 0


def image_of(mime: str, data: object, *, source: str = "") -> Image | None:
    """An :class:`Image` from a notebook or MCP payload (base64 text, maybe split into lines,
    as ``.ipynb`` files keep it); None when it is not a raster image or not base64."""
    if not mime.startswith("image/") or mime == "image/svg+xml":
        return None
    text = "".join(data) if isinstance(data, list) else data
    if not isinstance(text, str):
        return None
    text = "".join(text.split())
    try:
        base64.b64decode(text[:64] + "=" * (-len(text[:64]) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return Image(mime=mime, data=text, source=source) if text else None


def dimensions(image: Image) -> tuple[int, int] | None:
    """Width and height read from the image's header (PNG, GIF, JPEG, WebP); None if unknown."""
    # PNG, GIF and WebP say it in their first 30 bytes; a JPEG's frame header may follow
    # a large EXIF block.
    start = image.data[: 65_536 if image.data.startswith("/9j/") else 64]
    try:
        return _dimensions(base64.b64decode(start + "=" * (-len(start) % 4)))
    except (binascii.Error, ValueError, struct.error):
        return None


def _dimensions(head: bytes) -> tuple[int, int] | None:
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        width, height = struct.unpack(">II", head[16:24])
        return width, height
    if head[:6] in (b"GIF87a", b"GIF89a"):
        width, height = struct.unpack("<HH", head[6:10])
        return width, height
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp(head)
    return _jpeg(head) if head[:2] == b"\xff\xd8" else None


def _webp(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(head[24:27], "little")
        return width, 1 + int.from_bytes(head[27:30], "little")
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(head[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    return None


def _jpeg(head: bytes) -> tuple[int, int] | None:
    # Walk the segments to the first start-of-frame marker, which holds height and width.
    at = 2
    while at + 9 < len(head):
        if head[at] != 0xFF:
            return None
        marker = head[at + 1]
        length = struct.unpack(">H", head[at + 2 : at + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", head[at + 5 : at + 9])
            return width, height
        at += 2 + length
    return None


def split_images(images: tuple[Image, ...]) -> tuple[tuple[Image, ...], tuple[Image, ...]]:
    """The images a model can take as images (at most :data:`MAX_IMAGES`), and the rest."""
    sendable = tuple(i for i in images if i.sendable)[:MAX_IMAGES]
    rest = tuple(i for i in images if i not in sendable)
    return sendable, rest


def image_line(data: dict[str, str]) -> str:
    """The one-line description of an image sent in an event (``Image.to_dict()``)."""
    try:
        return Image.from_dict(data).describe()
    except (KeyError, TypeError):
        return "[image]"
