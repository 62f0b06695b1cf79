"""Every PNG encoder gives standard lossless PNGs carrying both records; without fpng, Pillow does the work."""

from __future__ import annotations

import io
import json
import logging
import sys
import types
import zlib

import numpy as np
import pytest
from PIL import Image

from core.models import ImageDetail
from service.images.png import RECORD_KEY, encode_png
from service.images.png_encoders import FpngEncoder, PillowEncoder, choose_encoder, fast_encoder

fpng = pytest.importorskip("fpng")

ENCODERS = {
    "fpng": lambda: FpngEncoder(fpng, PillowEncoder()),
    "pillow level 1": lambda: PillowEncoder(1),
    "pillow level 0": lambda: PillowEncoder(0),
    "pillow level 9": lambda: PillowEncoder(9),
}
PROMPTS = ["a lighthouse at dusk", "café crème, naïve", "夜の灯台 🌊, line\nbreak"]


def detail(prompt: str, size: tuple[int, int]) -> ImageDetail:
    guid = "3f0c1f9e-8c7a-4d55-9a4e-2b1d6f0e9a11"
    return ImageDetail(
        guid=guid, filename=f"{guid}.png", prompt=prompt, negative_prompt="blur", seed=7, steps=2,
        guidance_scale=0.0, width=size[0], height=size[1], model="tiny", created_at="2026-01-01T00:00:00Z",
    )  # fmt: skip


def photo(mode: str, size: tuple[int, int], seed: int = 1) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    smooth = (x * 255 // max(size[0], 1) + y) % 256
    channels = len(mode)
    pixels = (smooth[..., None] + rng.integers(0, 24, (size[1], size[0], channels))) % 256
    pixels[size[1] // 3 : size[1] // 2, size[0] // 4 : size[0] // 2] = 200  # an edge
    return Image.fromarray(pixels.astype(np.uint8), mode)


@pytest.mark.parametrize("name", ENCODERS)
@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
@pytest.mark.parametrize(("size", "prompt"), [((512, 512), PROMPTS[0]), ((77, 31), PROMPTS[1]), ((1, 1), PROMPTS[2])])
def test_every_encoder_is_lossless_and_carries_both_records(name, mode, size, prompt):
    image, record = photo(mode, size), detail(prompt, size)
    png = encode_png(image, record, sampler="Euler a", encoder=ENCODERS[name]())
    decoded = Image.open(io.BytesIO(png))
    decoded.load()  # checks every chunk's CRC and the zlib stream
    assert (decoded.format, decoded.mode, decoded.size) == ("PNG", mode, size)
    assert decoded.tobytes() == image.tobytes()
    assert decoded.text["parameters"].splitlines()[0] == " ".join(prompt.splitlines())
    assert "Steps: 2, Sampler: Euler a, CFG scale: 0.0, Seed: 7" in decoded.text["parameters"]
    stored = json.loads(decoded.text[RECORD_KEY])
    assert stored == record.model_dump(mode="json") | {"sampler": "Euler a"}
    assert stored["prompt"] == prompt


def test_text_chunks_are_those_pillow_would_write():
    """Latin-1 text as tEXt, anything else as uncompressed iTXt, as PngInfo.add_text does."""
    from PIL.PngImagePlugin import PngInfo

    image, record = photo("RGB", (8, 8)), detail(PROMPTS[2], (8, 8))
    ours = encode_png(image, record, sampler="Euler a", encoder=PillowEncoder(1))
    info = PngInfo()
    for key, value in Image.open(io.BytesIO(ours)).text.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info, compress_level=1, compress_type=zlib.Z_RLE)
    assert ours == buffer.getvalue()


def test_fpng_files_are_the_fast_ones():
    image = photo("RGB", (512, 512))
    assert FpngEncoder(fpng, PillowEncoder()).encode(image) != PillowEncoder(1).encode(image)


def test_fpng_hands_other_modes_to_pillow():
    image = photo("RGB", (16, 16)).convert("L")
    png = FpngEncoder(fpng, PillowEncoder()).encode(image)
    assert Image.open(io.BytesIO(png)).tobytes() == image.tobytes()


def test_an_fpng_failure_is_encoded_by_pillow_instead(caplog):
    broken = types.SimpleNamespace(from_bytes=lambda *args: b"")  # what its binding returns when fpng fails
    image = photo("RGB", (32, 32))
    with caplog.at_level(logging.WARNING):
        png = FpngEncoder(broken, PillowEncoder()).encode(image)
    assert Image.open(io.BytesIO(png)).tobytes() == image.tobytes()
    assert "Pillow did" in caplog.text


def test_the_default_level_chooses_fpng_and_says_so(caplog):
    with caplog.at_level(logging.INFO, logger="service.images.png_encoders"):
        assert choose_encoder(1).name == "fpng"
    assert caplog.messages == ["PNGs are encoded by fpng"]


def test_another_level_is_pillow_at_that_level():
    encoder = choose_encoder(9)
    assert (encoder.name, encoder.compress_level) == ("pillow", 9)


def test_without_fpng_pillow_encodes_and_the_start_says_so_once(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "fpng", None)  # import fpng raises ImportError, as without the wheel
    with caplog.at_level(logging.INFO, logger="service.images.png_encoders"):
        encoder = choose_encoder(1)
    assert encoder.name == "pillow"
    [line] = caplog.records
    assert line.levelno == logging.WARNING and "fpng is not installed" in line.message
    image = photo("RGB", (64, 64))
    png = encode_png(image, detail("a cat", (64, 64)), sampler="Euler a", encoder=encoder)
    assert Image.open(io.BytesIO(png)).tobytes() == image.tobytes()


def _fake_fpng(*, sse41: bool, encode) -> types.ModuleType:
    module = types.ModuleType("fpng")
    module.fpng_ext = types.SimpleNamespace(cpu_supports_sse41=lambda: sse41)
    module.from_bytes = encode
    return module


def test_a_cpu_without_sse41_falls_back_to_pillow(monkeypatch):
    monkeypatch.setitem(sys.modules, "fpng", _fake_fpng(sse41=False, encode=fpng.from_bytes))
    encoder, why = fast_encoder(PillowEncoder())
    assert encoder is None and "SSE4.1" in why
    assert choose_encoder(1).name == "pillow"


@pytest.mark.parametrize(
    "encode",
    [lambda *args: b"", lambda *args: 1 / 0, lambda data, w, h, c: fpng.from_bytes(bytes(len(data)), w, h, c)],
    ids=["empty", "raises", "wrong pixels"],
)
def test_an_fpng_that_fails_its_start_up_check_is_not_used(monkeypatch, encode):
    monkeypatch.setitem(sys.modules, "fpng", _fake_fpng(sse41=True, encode=encode))
    assert choose_encoder(1).name == "pillow"
