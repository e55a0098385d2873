"""Real images for tests, made without a plotting library."""

from __future__ import annotations

import base64
import struct
import zlib


def png_bytes(width: int, height: int, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A valid ``width`` × ``height`` PNG of one colour."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def png_base64(width: int = 64, height: int = 48) -> str:
    """:func:`png_bytes` as base64 text (how notebooks, MCP and the wire carry images)."""
    return base64.b64encode(png_bytes(width, height)).decode("ascii")
