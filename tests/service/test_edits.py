"""Edits below the web layer: the generator's img2img and inpainting, batching, sizes and hostile files."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFile

from core.exceptions import InvalidInput
from core.models import GenerationParams
from service.edits.sources import fit_size
from service.edits.uploads import check_uploads, open_checked
from service.generation.batching import BatchQueue, Hooks
from service.generation.interface import EditSource
from service.images.params import Limits
from tests.fakes import FakeGenerator

LIMITS = Limits(max_steps=50, max_side=2048, max_pixels=1536 * 1536, max_guidance=20.0, max_prompt_chars=100)


def params(seed: int = 1, *, strength: float | None = 0.6, mask: bool = False, steps: int = 4) -> GenerationParams:
    edit = {"strength": strength, "inputs": 1 if strength is not None else 0, "mask": mask}
    return GenerationParams(
        prompt="p", negative_prompt="", seed=seed, steps=steps, guidance_scale=1.0, width=64, height=48, **edit
    )


def source(seed: int = 0, *, mask: bool = False) -> EditSource:
    pixels = np.random.RandomState(seed).randint(0, 256, size=(48, 64, 3), dtype=np.uint8)
    repaint = Image.new("L", (64, 48), 0)
    repaint.paste(255, (0, 0, 16, 48))
    return EditSource(Image.fromarray(pixels, "RGB"), repaint if mask else None)


def rgb(result) -> np.ndarray:
    return np.asarray(result.image.convert("RGB"))


def test_img2img_is_deterministic_per_seed_source_and_strength(tiny_generator):
    def run(seed=1, src=0, strength=0.6):
        return rgb(tiny_generator.generate([params(seed, strength=strength)], sources=[source(src)])[0])

    first = run()
    assert first.shape == (48, 64, 3)
    assert np.array_equal(first, run())
    assert not np.array_equal(first, run(seed=2))
    assert not np.array_equal(first, run(src=1))
    assert not np.array_equal(first, run(strength=0.3))


def test_inpainting_keeps_every_unmasked_pixel_and_is_deterministic(tiny_generator):
    def run(seed=1):
        return rgb(tiny_generator.generate([params(seed, strength=1.0, mask=True)], sources=[source(mask=True)])[0])

    first, original = run(), np.asarray(source().image)
    assert np.array_equal(first, run())
    assert np.array_equal(first[:, 16:], original[:, 16:])
    assert not np.array_equal(first[:, :16], original[:, :16])
    assert not np.array_equal(first[:, :16], run(seed=2)[:, :16])


def test_edit_pipelines_share_the_loaded_weights_and_are_made_once(tiny_generator):
    pipelines = tiny_generator.pipelines
    img2img, inpaint = pipelines.for_mode("img2img"), pipelines.for_mode("inpaint")
    assert pipelines.for_mode("img2img") is img2img and pipelines.for_mode("inpaint") is inpaint
    base = tiny_generator.pipe
    for made in (img2img, inpaint):
        assert (made.unet, made.vae, made.text_encoder) == (base.unet, base.vae, base.text_encoder)
    assert type(inpaint).__name__ == "StableDiffusionInpaintPipeline"
    assert base.unet.config.in_channels == 4  # a plain UNet: diffusers blends the latents instead of concatenating


def test_a_batch_of_edits_gives_each_its_own_source_and_seed(tiny_generator):
    alone = [rgb(tiny_generator.generate([params(seed)], sources=[source(seed)])[0]) for seed in (3, 4)]
    batched = tiny_generator.generate([params(3), params(4)], sources=[source(3), source(4)])
    for single, result in zip(alone, batched, strict=True):
        assert np.abs(single.astype(int) - rgb(result).astype(int)).mean() < 1.0


def test_an_edit_reports_steps_up_to_its_total_and_stops_when_asked(tiny_generator):
    seen: list[tuple[int, int]] = []
    tiny_generator.generate([params(steps=10, strength=0.5)], sources=[source()], on_step=lambda *s: seen.append(s))
    assert len(seen) == 5 and seen[-1] == (10, 10)  # int(10 x 0.5) steps run; progress still ends at 10
    stopped: list[int] = []
    tiny_generator.generate(
        [params(steps=10, strength=0.5)],
        sources=[source()],
        on_step=lambda step, _: stopped.append(step),
        should_stop=lambda: len(stopped) >= 2,
    )
    assert len(stopped) == 2


class EditingFake(FakeGenerator):
    """The fake generator, taking an edit's sources as the diffusers one does."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[list | None] = []

    def generate(self, batch, *, sources=None, **hooks):
        self.sources.append(sources)
        return super().generate(batch, **hooks)


def test_the_worker_batches_only_edits_of_one_kind_and_strength():
    generator = EditingFake()
    generator.gate.clear()
    worker = BatchQueue(generator, max_queue=8, max_batch=8).start()
    blocker = worker.submit(params(strength=None))
    assert generator.started.wait(5)
    kinds = [None, 0.5, 0.5, 0.7, "mask"]
    futures = [
        worker.submit(
            params(strength=1.0 if kind == "mask" else kind, mask=kind == "mask"),
            Hooks(),
            source(mask=kind == "mask") if kind else None,
        )
        for kind in kinds
    ]
    generator.gate.set()
    for future in [blocker, *futures]:
        future.result(timeout=10)
    worker.stop(timeout=5)
    groups = sorted((batch[0].mode, batch[0].strength or 0, len(batch)) for batch in generator.batches[1:])
    assert groups == [("img2img", 0.5, 2), ("img2img", 0.7, 1), ("inpaint", 1.0, 1), ("txt2img", 0, 1)]
    by_mode = {batch[0].mode: sources for batch, sources in zip(generator.batches, generator.sources, strict=True)}
    assert by_mode["txt2img"] is None  # a plain generation never sees the argument
    assert by_mode["inpaint"][0].mask is not None


@pytest.mark.parametrize(
    ("size", "expected"),
    [((96, 64), (96, 64)), ((100, 77), (96, 72)), ((4000, 3000), (1768, 1328)), ((30, 30), (64, 64))],
)
def test_an_upload_keeps_its_size_rounded_to_8_and_fitted_into_the_limits(size, expected):
    width, height = fit_size(*size, LIMITS)
    assert (width, height) == expected
    assert width * height <= LIMITS.max_pixels and max(width, height) <= LIMITS.max_side


def test_pixels_are_counted_from_the_header_before_anything_is_decoded(monkeypatch):
    decoded: list[bool] = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(True))
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200)).save(buffer, format="PNG")
    with pytest.raises(InvalidInput) as refused:
        open_checked(buffer.getvalue(), "image", max_pixels=300 * 200 - 1)
    assert refused.value.field == "image" and "300x200" in refused.value.message
    assert decoded == []


def test_an_upload_without_an_alpha_channel_cannot_be_a_mask():
    def png(mode: str) -> bytes:
        buffer = io.BytesIO()
        Image.new(mode, (8, 8)).save(buffer, format="PNG")
        return buffer.getvalue()

    with pytest.raises(InvalidInput) as refused:
        check_uploads([("image", png("RGB"))], ("mask", png("RGB")), max_pixels=10_000)
    assert refused.value.field == "mask"
    uploads = check_uploads([("image", png("RGB"))], ("mask", png("RGBA")), max_pixels=10_000)
    assert uploads.mask.getextrema() == (255, 255)  # all transparent: all repainted
