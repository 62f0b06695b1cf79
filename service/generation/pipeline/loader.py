"""Load ``PIXY_MODEL`` once at startup, falling back to the tiny model loudly."""

from __future__ import annotations

import logging
import time

from core.exceptions import ModelUnavailable
from core.model_ids import model_id
from core.models import GenerationParams
from core.settings import Settings
from service.generation.models import ModelEntry
from service.generation.pipeline.generator import DiffusersGenerator
from service.generation.pipeline.weights import find_local, load_pipeline, model_hash, quiet_libraries

logger = logging.getLogger(__name__)


def pick_device(requested: str) -> str:
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


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


def _announce_fallback(settings: Settings, exc: Exception) -> None:
    logger.warning("=" * 72)
    logger.warning("MODEL %r IS NOT AVAILABLE (%s)", settings.pixy_model, type(exc).__name__)
    logger.warning("FALLING BACK TO THE TINY RANDOM MODEL: IMAGES WILL BE NOISE.")
    logger.warning("Fetch weights with scripts/download_weights.py, or set PIXY_STRICT_MODEL=1.")
    logger.warning("=" * 72)


def load_generator(settings: Settings) -> DiffusersGenerator:
    """Load ``PIXY_MODEL``; fall back to the tiny model loudly unless ``PIXY_STRICT_MODEL``."""
    quiet_libraries()
    device = pick_device(settings.pixy_device)
    folder = find_local(settings.pixy_model, settings.pixy_models_dir)
    model, fallback, source = model_id(settings.pixy_model), False, folder or settings.pixy_model
    try:
        pipe = load_pipeline(source, device=device, half=device == "cuda")
    except Exception as exc:
        if settings.pixy_strict_model:
            raise ModelUnavailable(f"model {settings.pixy_model!r} could not be loaded") from exc
        _announce_fallback(settings, exc)
        source = settings.pixy_models_dir / "tiny"
        try:
            pipe = load_pipeline(source, device=device, half=device == "cuda")
        except Exception as tiny_exc:
            raise ModelUnavailable("no model could be loaded") from tiny_exc
        model, fallback = "tiny", True
    return _ready(pipe, model=model, device=device, settings=settings, fallback=fallback, source=source)


def load_model(entry: ModelEntry, settings: Settings) -> DiffusersGenerator:
    """Another of ``PIXY_MODELS``, on first use: no fallback, a failure is that model's alone."""
    quiet_libraries()
    device = pick_device(settings.pixy_device)
    source = find_local(entry.source, settings.pixy_models_dir) or entry.source
    pipe = load_pipeline(source, device=device, half=device == "cuda")
    return _ready(pipe, model=entry.id, device=device, settings=settings, fallback=False, source=source)


def _ready(pipe, *, model: str, device: str, settings: Settings, fallback: bool, source) -> DiffusersGenerator:
    """A loaded pipeline as a generator: SDPA attention on CUDA, and a UNet compiled for this model alone."""
    if device == "cuda":
        from diffusers.models.attention_processor import AttnProcessor2_0

        pipe.unet.set_attn_processor(AttnProcessor2_0())
    compiled = settings.pixy_compile and device == "cuda"
    generator = DiffusersGenerator(
        pipe, model=model, device=device, fallback=fallback, compiled=compiled, model_hash=model_hash(source)
    )
    if generator.info.compiled:
        _compile_and_warm(pipe, generator)
    logger.info("model %s loaded on %s (%s), defaults %s", model, device, generator.info.dtype, generator.info.profile)
    return generator
