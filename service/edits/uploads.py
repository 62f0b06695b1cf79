"""Uploaded images are hostile until proven otherwise. Every file's format (by content), size and, for a
JPEG, number of scans are read from its header, and every file passes, before any pixel of any of them is
decoded; then a full decode that a truncated or corrupt file cannot pass."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from core.exceptions import InvalidInput
from core.settings import Settings
from service.edits.jpeg import START as JPEG_START
from service.edits.jpeg import count_scans

ACCEPTED = ("PNG", "JPEG", "WEBP")
# LANCZOS's coefficient tables grow with the longer side: a 2 KB PNG of 16,777,216 x 1 pixels cost 0.8 GB.
MAX_SIDE: int = Settings.model_fields["pixy_max_upload_side"].default
MAX_ASPECT = 8
# A progressive JPEG has about 10 scans; thousands of 33-byte ones make a 99 KB file that decodes for 15 s.
MAX_SCANS = 32
# Above 3, reducing by a whole factor first is indistinguishable from LANCZOS alone, and far cheaper.
REDUCING_GAP = 3.0
# What a damaged file raises in Pillow's decoders (zlib errors surface as these too).
_BROKEN = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError)


def _refuse(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", field=field)


def opened(data: bytes, field: str, *, max_pixels: int, max_side: int = MAX_SIDE) -> Image.Image:
    """``data`` as a PNG, JPEG or WebP within the limits, its header read and no pixel decoded; or a refusal
    naming ``field``."""
    if not data:
        raise _refuse(field, "empty file")
    too_many = _refuse(field, f"more than {max_pixels} pixels")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_many from None
    except (UnidentifiedImageError, *_BROKEN):
        raise _refuse(field, "not a PNG, JPEG or WebP image") from None
    _check_size(image.size, field, max_pixels=max_pixels, max_side=max_side)
    if data.startswith(JPEG_START) and count_scans(data) > MAX_SCANS:
        raise _refuse(field, f"a JPEG of more than {MAX_SCANS} scans")
    return image


def decoded(image: Image.Image, field: str) -> Image.Image:
    """``image``'s pixels, or a refusal naming ``field`` if the file is truncated or corrupt."""
    try:
        image.load()
    except (Image.DecompressionBombError, *_BROKEN):
        raise _refuse(field, "truncated or corrupt image") from None
    return image


def open_checked(data: bytes, field: str, *, max_pixels: int, max_side: int = MAX_SIDE) -> Image.Image:
    """Decode ``data`` as a PNG, JPEG or WebP within the limits, or refuse it naming ``field``."""
    return decoded(opened(data, field, max_pixels=max_pixels, max_side=max_side), field)


def _check_size(size: tuple[int, int], field: str, *, max_pixels: int, max_side: int) -> None:
    width, height = size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise _refuse(field, f"{width}x{height} is more than {max_pixels} pixels")
    if max(width, height) > max_side:
        raise _refuse(field, f"{width}x{height} has a side longer than {max_side} pixels")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise _refuse(field, f"{width}x{height}: one side may be at most {MAX_ASPECT} times the other")


def _check_mask(mask: Image.Image, field: str, image_size: tuple[int, int]) -> None:
    if mask.format != "PNG":
        raise _refuse(field, "must be a PNG")
    if "A" not in mask.getbands() and "transparency" not in mask.info:
        raise _refuse(field, "must have an alpha channel: its transparent pixels mark what to repaint")
    # The image's EXIF turn is known once it is decoded: until then, either way round may match.
    if mask.size not in (image_size, image_size[::-1]):
        raise _mismatch(mask.size, field, image_size)


def _mismatch(size: tuple[int, int], field: str, image_size: tuple[int, int]) -> InvalidInput:
    (width, height), (image_width, image_height) = size, image_size
    return _refuse(field, f"is {width}x{height}, the image is {image_width}x{image_height}: they must match")


def repaint_mask(image: Image.Image) -> Image.Image:
    """OpenAI's mask (a PNG whose fully transparent pixels mark what to repaint) as diffusers' (white = repaint)."""
    alpha = image.getchannel("A") if "A" in image.getbands() else image.convert("RGBA").getchannel("A")
    return alpha.point(lambda a: 255 if a == 0 else 0)


@dataclass(frozen=True)
class Uploads:
    """An edit's checked uploads: 1 to 4 images and an optional mask of the first image's size."""

    images: list[Image.Image]
    mask: Image.Image | None
    sha256: list[str]

    @property
    def size(self) -> tuple[int, int]:
        return self.images[0].size

    def encoded(self, width: int, height: int) -> dict[str, bytes]:
        """What the job keeps: each image as an RGB PNG of the output size, the mask as a 1-bit-like L PNG."""
        size = (width, height)
        rows = {
            f"image{i}": _png(image.resize(size, Image.LANCZOS, reducing_gap=REDUCING_GAP))
            for i, image in enumerate(self.images)
        }
        if self.mask is not None:
            rows["mask"] = _png(self.mask.resize((width, height), Image.NEAREST))
        return rows


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _upright_rgb(image: Image.Image) -> Image.Image:
    # In place, and converted only when needed: each copy of an upload this size is up to 64 MB.
    ImageOps.exif_transpose(image, in_place=True)
    return image if image.mode == "RGB" else image.convert("RGB")


def check_uploads(
    images: list[tuple[str, bytes]], mask: tuple[str, bytes] | None, *, max_pixels: int, max_side: int = MAX_SIDE
) -> Uploads:
    """Check every upload (field name, bytes): all headers, then the pixels; the first refused one is a 422
    naming its field."""
    limits = {"max_pixels": max_pixels, "max_side": max_side}
    headers = [(field, opened(data, field, **limits)) for field, data in images]
    mask_field, mask_header = (mask[0], opened(mask[1], mask[0], **limits)) if mask else ("mask", None)
    if mask_header is not None:
        _check_mask(mask_header, mask_field, headers[0][1].size)
    upright = [_upright_rgb(decoded(image, field)) for field, image in headers]
    repaint = None
    if mask_header is not None:
        if mask_header.size != upright[0].size:
            raise _mismatch(mask_header.size, mask_field, upright[0].size)
        repaint = repaint_mask(decoded(mask_header, mask_field))
    digests = [hashlib.sha256(data).hexdigest() for _, data in [*images, *([mask] if mask else [])]]
    return Uploads(images=upright, mask=repaint, sha256=digests)


def decode_input(data: bytes) -> Image.Image:
    """A job input this service wrote itself (a PNG already checked), decoded."""
    image = Image.open(io.BytesIO(data), formats=("PNG",))
    image.load()
    return image
