"""A small preview of a stored PNG, for clients that carry images inline (MCP tool results)."""

from __future__ import annotations

import io

from PIL import Image

PREVIEW_MAX_SIDE = 512
PREVIEW_QUALITY = 80
PREVIEW_MIME = "image/webp"


def webp_preview(png: bytes, *, max_side: int = PREVIEW_MAX_SIDE, quality: int = PREVIEW_QUALITY) -> bytes:
    """The image as WebP, no side over ``max_side``: a 1024x1024 PNG of a megabyte or more becomes tens of KB.

    An assistant's context pays for every inline byte; the full PNG stays one content URL away.
    """
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, format="WEBP", quality=quality, method=4)
        return buffer.getvalue()
