"""PNG encoding with the generation record inside, as AUTOMATIC1111 users read it."""

from __future__ import annotations

import json
import zlib

from PIL.Image import Image

from core.models import ImageDetail
from core.samplers import schedule_label
from service.images.png_encoders import SIGNATURE, PixelEncoder

RECORD_KEY = "pixyproxy"


def one_line(text: str) -> str:
    """Fold line breaks to spaces: A1111 readers take each line as a field, so a newline could forge one."""
    return " ".join(text.splitlines())


def parameters_text(detail: ImageDetail, *, sampler: str, model_hash: str = "") -> str:
    """The A1111 ``parameters`` text; the exact prompts are in the ``pixyproxy`` JSON chunk."""
    lines = [one_line(detail.prompt)]
    if detail.negative_prompt:
        lines.append(f"Negative prompt: {one_line(detail.negative_prompt)}")
    lines.append(
        f"Steps: {detail.steps}, Sampler: {sampler}, "
        + (f"Schedule type: {schedule_label(detail.scheduler)}, " if detail.scheduler else "")
        + f"CFG scale: {detail.guidance_scale}, "
        f"Seed: {detail.seed}, Size: {detail.width}x{detail.height}, "
        + (f"Model hash: {model_hash}, " if model_hash else "")
        + f"Model: {detail.model}"
        + (f", Denoising strength: {detail.strength}" if detail.strength is not None else "")
        + (f", Init image: {detail.init_image}" if detail.init_image else "")
    )
    return "\n".join(lines)


def text_chunk(key: str, value: str) -> bytes:
    """As Pillow's ``PngInfo.add_text`` writes it: ``tEXt`` when Latin-1 holds the text, else UTF-8 ``iTXt``."""
    try:
        kind, data = b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1")
    except UnicodeEncodeError:
        # keyword NUL, uncompressed (flag 0, method 0), no language tag NUL, no translated keyword NUL
        kind, data = b"iTXt", key.encode("latin-1") + b"\0" + b"\0\0" + b"\0" + b"\0" + value.encode("utf-8")
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def with_text(png: bytes, texts: dict[str, str]) -> bytes:
    """``png`` with a text chunk per entry, right after its IHDR (the first chunk, 25 bytes from the start)."""
    end_of_ihdr = len(SIGNATURE) + 25
    if png[len(SIGNATURE) + 4 : len(SIGNATURE) + 8] != b"IHDR":
        raise ValueError("not a PNG that starts with its IHDR chunk")
    return png[:end_of_ihdr] + b"".join(text_chunk(k, v) for k, v in texts.items()) + png[end_of_ihdr:]


def encode_png(
    image: Image, detail: ImageDetail, *, sampler: str, encoder: PixelEncoder, model_hash: str = ""
) -> bytes:
    """The lossless PNG of ``image`` with its record: A1111's ``parameters`` and the JSON ``pixyproxy`` chunk."""
    record = detail.model_dump(mode="json") | {"sampler": sampler} | ({"model_hash": model_hash} if model_hash else {})
    parameters = parameters_text(detail, sampler=sampler, model_hash=model_hash)
    texts = {"parameters": parameters, RECORD_KEY: json.dumps(record, ensure_ascii=False)}
    return with_text(encoder.encode(image), texts)
