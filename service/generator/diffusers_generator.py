"""Text-to-image over a loaded diffusers pipeline, one call at a time."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from core.exceptions import GenerationFailed, GeneratorOutOfMemory
from core.models import GenerationParams
from service.generated import GeneratedImage, GeneratorInfo, StepCallback
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

    def generate(
        self,
        batch: list[GenerationParams],
        *,
        on_step: StepCallback | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> list[GeneratedImage]:
        first = batch[0]

        def step_end(pipe, index: int, timestep, tensors: dict) -> dict:
            if on_step is not None:
                on_step(index + 1, first.steps)
            if should_stop is not None and should_stop():
                pipe._interrupt = True  # diffusers skips the remaining steps
            return tensors

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
                        callback_on_step_end=step_end if on_step or should_stop else None,
                    ).images
            except torch.cuda.OutOfMemoryError as exc:
                torch.cuda.empty_cache()
                logger.warning("generation ran out of GPU memory: %s", exc)
                raise GeneratorOutOfMemory() from exc
            except Exception as exc:
                logger.exception("generation failed")
                raise GenerationFailed() from exc
            elapsed = round((time.perf_counter() - started) * 1000)
        return [GeneratedImage(image=img, params=p, elapsed_ms=elapsed) for img, p in zip(images, batch, strict=True)]
