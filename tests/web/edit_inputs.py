"""Images to upload to the edits route, good and hostile, and the rows an edit may leave."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def encoded(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def noise_png(width: int, height: int, seed: int = 0) -> bytes:
    pixels = np.random.RandomState(seed).randint(0, 256, size=(height, width, 3), dtype=np.uint8)
    return encoded(Image.fromarray(pixels, "RGB"))


def mask_png(width: int, height: int, *, repaint_left: int = 8) -> bytes:
    """OpenAI's mask: opaque everywhere but the ``repaint_left`` leftmost columns, which are transparent."""
    mask = Image.new("RGBA", (width, height), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, repaint_left, height))
    return encoded(mask)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side: int = 20_000) -> bytes:
    """A PNG whose header claims side x side pixels (8-bit gray), with a few KB of zlib behind it."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    squeeze = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    data = b"".join(squeeze.compress(row) for _ in range(64)) + squeeze.flush()
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def count_rows(raw) -> dict[str, int]:
    counts = {}
    with raw.cursor() as cur:
        for table in ("images", "jobs", "job_inputs"):
            cur.execute(f"SELECT COUNT(*) FROM {table}")
            counts[table] = cur.fetchone()[0]
    return counts


def jpeg_scan_bomb(side: int = 4096, extra_scans: int = 1000) -> bytes:
    """A blank progressive JPEG whose last scan (an AC refinement, 33 bytes) comes ``extra_scans`` more times.

    Each scan is a pass over every block: at 4096², a thousand of them (99 KB) take Pillow about 15 s."""
    data = encoded(Image.new("L", (side, side)), "JPEG", progressive=True)
    last, end = data.rindex(b"\xff\xda"), len(data) - 2  # the last scan, and the end-of-image marker
    return data[:end] + data[last:end] * extra_scans + data[end:]
