"""The diffusers pipeline, loaded once. The only module that imports torch and diffusers."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from core.exceptions import GenerationFailed, GeneratorOutOfMemory, ModelUnavailable
from core.models import GenerationParams
from core.settings import Settings
from service.generated import GeneratedImage, GeneratorInfo
from service.profiles import profile_for

logger = logging.getLogger(__name__)

SAMPLER_NAMES = {
    "EulerDiscreteScheduler": "Euler",
    "EulerAncestralDiscreteScheduler": "Euler a",
    "DPMSolverMultistepScheduler": "DPM++ 2M",
    "DDIMScheduler": "DDIM",
    "PNDMScheduler": "PLMS",
    "LMSDiscreteScheduler": "LMS",
    "HeunDiscreteScheduler": "Heun",
    "UniPCMultistepScheduler": "UniPC",
}


def local_name(model_id: str) -> str:
    """Where ``scripts/download_weights.py`` puts a hub model under ``models/``."""
    return model_id.replace("/", "--")


def resolve_source(settings: Settings) -> tuple[str, bool]:
    """Return what to pass to ``from_pretrained`` and whether it is a local folder."""
    model = settings.pixy_model
    candidates = [settings.pixy_models_dir / model, Path(model), settings.pixy_models_dir / local_name(model)]
    for folder in candidates:
        if (folder / "model_index.json").is_file():
            return str(folder), True
    return model, False


class DiffusersGenerator:
    """Text-to-image with one seeded ``torch.Generator`` per image, calls serialized by a lock."""

    def __init__(self, pipe, *, model: str, device: str, fallback: bool, compiled: bool) -> None:
        import torch

        self._torch = torch
        self.pipe = pipe
        self.device = device
        self._lock = threading.Lock()
        native = pipe.unet.config.sample_size * pipe.vae_scale_factor
        self.info = GeneratorInfo(
            model=model,
            device=device,
            dtype=str(pipe.unet.dtype).removeprefix("torch."),
            sampler=SAMPLER_NAMES.get(type(pipe.scheduler).__name__, type(pipe.scheduler).__name__),
            profile=profile_for(model=model, pipeline_class=type(pipe).__name__, native_size=native),
            fallback=fallback,
            compiled=compiled,
        )

    def generate(self, batch: list[GenerationParams]) -> list[GeneratedImage]:
        first = batch[0]
        torch = self._torch
        with self._lock:
            started = time.perf_counter()
            try:
                generators = [torch.Generator(device=self.device).manual_seed(p.seed) for p in batch]
                with torch.inference_mode():
                    images = self.pipe(
                        prompt=[p.prompt for p in batch],
                        negative_prompt=[p.negative_prompt for p in batch],
                        num_inference_steps=first.steps,
                        guidance_scale=first.guidance_scale,
                        width=first.width,
                        height=first.height,
                        generator=generators,
                    ).images
            except torch.cuda.OutOfMemoryError as exc:
                torch.cuda.empty_cache()
                logger.warning("generation ran out of GPU memory: %s", exc)
                raise GeneratorOutOfMemory() from exc
            except Exception as exc:
                logger.exception("generation failed")
                raise GenerationFailed() from exc
            elapsed = round((time.perf_counter() - started) * 1000)
        return [
            GeneratedImage(image=img, params=p, elapsed_ms=elapsed)
            for img, p in zip(images, batch, strict=True)
        ]


def pick_device(requested: str) -> str:
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def _load_pipeline(source: str, *, local: bool, device: str):
    import torch
    from diffusers import AutoPipelineForText2Image

    kwargs: dict = {"local_files_only": True}
    if device == "cuda":
        kwargs["dtype"] = torch.float16
    if local and any(Path(source).rglob("*.fp16.safetensors")):
        kwargs["variant"] = "fp16"  # on the CPU the fp16 files load as float32
    pipe = AutoPipelineForText2Image.from_pretrained(source, **kwargs)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def _compile_and_warm(pipe, generator: DiffusersGenerator) -> None:
    import torch

    pipe.unet = torch.compile(pipe.unet, mode="max-autotune-no-cudagraphs")
    profile = generator.info.profile
    warm = GenerationParams(
        prompt="warm-up",
        negative_prompt="",
        seed=0,
        steps=profile.steps,
        guidance_scale=profile.guidance_scale,
        width=profile.width,
        height=profile.height,
    )
    started = time.perf_counter()
    generator.generate([warm])
    logger.info("compiled the UNet and warmed up in %.1fs", time.perf_counter() - started)


def load_generator(settings: Settings) -> DiffusersGenerator:
    """Load ``PIXY_MODEL``; fall back to the tiny model loudly unless ``PIXY_STRICT_MODEL``."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    device = pick_device(settings.pixy_device)
    source, local = resolve_source(settings)
    model, fallback = settings.pixy_model, False
    try:
        pipe = _load_pipeline(source, local=local, device=device)
    except Exception as exc:
        if settings.pixy_strict_model:
            raise ModelUnavailable(f"model {settings.pixy_model!r} could not be loaded") from exc
        tiny = settings.pixy_models_dir / "tiny"
        logger.warning("=" * 72)
        logger.warning("MODEL %r IS NOT AVAILABLE (%s)", settings.pixy_model, type(exc).__name__)
        logger.warning("FALLING BACK TO THE TINY RANDOM MODEL: IMAGES WILL BE NOISE.")
        logger.warning("Fetch weights with scripts/download_weights.py, or set PIXY_STRICT_MODEL=1.")
        logger.warning("=" * 72)
        try:
            pipe = _load_pipeline(str(tiny), local=True, device=device)
        except Exception as tiny_exc:
            raise ModelUnavailable("no model could be loaded") from tiny_exc
        model, fallback = "tiny", True
    if device == "cuda":
        from diffusers.models.attention_processor import AttnProcessor2_0

        pipe.unet.set_attn_processor(AttnProcessor2_0())
    generator = DiffusersGenerator(
        pipe, model=model, device=device, fallback=fallback, compiled=settings.pixy_compile and device == "cuda"
    )
    if generator.info.compiled:
        _compile_and_warm(pipe, generator)
    logger.info("model %s loaded on %s (%s), defaults %s", model, device, generator.info.dtype, generator.info.profile)
    return generator
