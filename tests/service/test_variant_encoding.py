"""``encode_variant``: one encoder for stored variants and MCP's inline images, within a width or a box."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from core.variants import VariantSpec
from service.images.variants import encode_variant


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(
    ("size", "fitted"),
    [((1024, 1024), (512, 512)), ((1000, 300), (512, 154)), ((300, 1000), (153, 510)), ((64, 96), (64, 96))],
)
def test_max_side_fits_both_sides_in_the_box_keeping_the_aspect_ratio(size, fitted):
    image = decoded(encode_variant(png(*size), VariantSpec("webp"), quality=80, max_side=512))
    assert image.format == "WEBP"
    assert image.size == fitted


def test_a_width_and_a_box_together_take_the_smaller():
    original = png(1024, 768)
    assert decoded(encode_variant(original, VariantSpec("png", 256), quality=80, max_side=512)).size == (256, 192)
    assert decoded(encode_variant(original, VariantSpec("png", 900), quality=80, max_side=512)).size == (512, 384)


def test_without_a_box_only_the_width_scales():
    assert decoded(encode_variant(png(1024, 768), VariantSpec("jpeg"), quality=80)).size == (1024, 768)
