"""Encoding derived images with Pillow: a format change, a thumbnail, or both."""

from __future__ import annotations

import hashlib
import io

from PIL import Image

from core.content import ImageContent
from core.exceptions import ImageNotFound, InvalidInput
from core.ids import canonical_guid
from core.variants import MEDIA_TYPES, VariantSpec
from data.variants import VariantRepository


def encode_variant(png: bytes, spec: VariantSpec, *, quality: int, max_side: int | None = None) -> bytes:
    """The PNG re-encoded as ``spec`` asks, the aspect ratio kept, no side over ``max_side`` if given;
    metadata is not carried over."""
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        width = min(spec.width or image.width, image.width)
        if max_side:
            # Floored, so that the height scaled with it cannot round past max_side either.
            width = min(width, max(1, image.width * max_side // max(image.size)))
        if width < image.width:
            height = max(1, round(image.height * width / image.width))
            image = image.resize((width, height), Image.Resampling.LANCZOS)
        if spec.fmt == "jpeg" and image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        buffer = io.BytesIO()
        if spec.fmt == "png":
            image.save(buffer, format="PNG", compress_level=6)
        elif spec.fmt == "jpeg":
            image.save(buffer, format="JPEG", quality=quality, optimize=True)
        else:
            image.save(buffer, format="WEBP", quality=quality, method=4)
        return buffer.getvalue()


class VariantService:
    """Derived images of stored ones: made on first request, kept, and served like the original."""

    def __init__(self, repository: VariantRepository, *, quality: int = 80, widths: tuple[int, ...] = ()) -> None:
        """``widths``: the thumbnail widths that may be asked for. A fixed few, so GETs cannot fill the disk
        with one file per width."""
        self.repository = repository
        self.quality = quality
        self.widths = widths

    def content(self, guid: str, spec: VariantSpec) -> tuple[ImageContent, str]:
        """The variant's bytes and media type; the stored PNG itself when ``spec`` comes to the original."""
        if spec.width is not None and spec.width not in self.widths:
            allowed = ", ".join(map(str, self.widths)) or "none (PIXY_VARIANT_WIDTHS is empty)"
            raise InvalidInput(f"width: must be one of {allowed}", field="width")
        guid = canonical_guid(guid)
        found = self.repository.find(guid, spec)
        if found is None:
            raise ImageNotFound()
        fitted, content = found
        if fitted is None:
            if content is None:  # deleted since the row was read
                raise ImageNotFound()
            return content, MEDIA_TYPES["png"]
        if content is None:
            content = self._make(guid, fitted)
        return content, fitted.media_type

    def _make(self, guid: str, spec: VariantSpec) -> ImageContent:
        original = self.repository.find(guid, VariantSpec())
        if original is None or original[1] is None:
            raise ImageNotFound()
        data = encode_variant(original[1].read(), spec, quality=self.quality)
        self.repository.add(guid, spec, data)
        return ImageContent(sha256=hashlib.sha256(data).hexdigest(), size=len(data), stream=lambda: iter([data]))

    def encode(self, png: bytes, fmt: str, *, quality: int | None = None) -> bytes:
        """A one-off re-encoding at full size, not kept (the OpenAI answer's ``output_format``)."""
        return (
            png
            if fmt == "png"
            else encode_variant(png, VariantSpec(fmt), quality=self.quality if quality is None else quality)
        )
