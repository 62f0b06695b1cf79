"""Text-to-image over a loaded diffusers pipeline, one call at a time."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from core.exceptions import GenerationFailed, GeneratorOutOfMemory
from core.models import GenerationParams
from service.generation.interface import EditSource, GeneratedImage, GeneratorInfo, PreviewCallback, StepCallback
from service.generation.pipeline.latents import latent_rgb_map, latents_to_images
from service.generation.pipeline.pipelines import Pipelines, keep_unmasked, mode_arguments
from service.generation.pipeline.samplers import sampler_name, scheduler_for
from service.generation.profiles import profile_for

logger = logging.getLogger(__name__)


class DiffusersGenerator:
    """Text-to-image and edits with one seeded ``torch.Generator`` per image, calls serialized by a lock."""

    def __init__(self, pipe, *, model: str, device: str, fallback: bool, compiled: bool, model_hash: str = "") -> None:
        import torch

        self._torch = torch
        self.pipe = pipe
        self.pipelines = Pipelines(pipe)
        self.device = device
        self._lock = threading.Lock()
        self._rgb_map = latent_rgb_map(pipe)
        self.previews = self._rgb_map is not None  # the worker passes on_preview only to one that can
        native = pipe.unet.config.sample_size * pipe.vae_scale_factor
        self.info = GeneratorInfo(
            model=model,
            device=device,
            dtype=str(pipe.unet.dtype).removeprefix("torch."),
            sampler=sampler_name(pipe.scheduler),
            profile=profile_for(model=model, pipeline_class=type(pipe).__name__, native_size=native),
            fallback=fallback,
            compiled=compiled,
            family=type(pipe).__name__,
            model_hash=model_hash,
        )

    def to_cpu(self) -> None:
        """Park in CPU memory; on CUDA the freed blocks go back to the driver, for the next model."""
        with self._lock:
            self.pipe.to("cpu")
            if self.device.startswith("cuda"):
                self._torch.cuda.empty_cache()

    def to_device(self) -> None:
        with self._lock:
            self.pipe.to(self.device)

    def release(self) -> None:
        """Drop the pipeline; its memory is freed once nothing else holds it."""
        import gc

        with self._lock:
            self.pipe = self.pipelines = None
            gc.collect()
            if self.device.startswith("cuda"):
                self._torch.cuda.empty_cache()

    def generate(
        self,
        batch: list[GenerationParams],
        *,
        on_step: StepCallback | None = None,
        should_stop: Callable[[], bool] | None = None,
        on_preview: PreviewCallback | None = None,
        sources: list[EditSource | None] | None = None,
    ) -> list[GeneratedImage]:
        first = batch[0]
        on_preview = on_preview if self.previews else None

        def step_end(pipe, index: int, timestep, tensors: dict) -> dict:
            # An edit runs only int(steps x strength) of its steps: progress still ends at ``steps``.
            done = max(1, round((index + 1) * first.steps / (getattr(pipe, "num_timesteps", 0) or first.steps)))
            if on_step is not None:
                on_step(done, first.steps)
            if on_preview is not None:
                on_preview(done, _once(lambda: latents_to_images(tensors["latents"], self._rgb_map)))
            if should_stop is not None and should_stop():
                pipe._interrupt = True  # diffusers skips the remaining steps
            return tensors

        torch = self._torch
        with self._lock:
            started = time.perf_counter()
            try:
                generators = [torch.Generator(device=self.device).manual_seed(p.seed) for p in batch]
                pipe = self.pipelines.for_mode(first.mode)
                with torch.inference_mode(), scheduler_for(pipe, batch):
                    images = pipe(
                        prompt=[p.prompt for p in batch],
                        negative_prompt=[p.negative_prompt for p in batch],
                        num_inference_steps=first.steps,
                        guidance_scale=first.guidance_scale,
                        generator=generators,
                        callback_on_step_end=step_end if on_step or should_stop or on_preview else None,
                        callback_on_step_end_tensor_inputs=["latents"],
                        **mode_arguments(first, sources),
                    ).images
                images = keep_unmasked(images, sources)
            except torch.cuda.OutOfMemoryError as exc:
                torch.cuda.empty_cache()
                logger.warning("generation ran out of GPU memory: %s", exc)
                raise GeneratorOutOfMemory() from exc
            except Exception as exc:
                logger.exception("generation failed")
                raise GenerationFailed() from exc
            elapsed = round((time.perf_counter() - started) * 1000)
        return [GeneratedImage(image=img, params=p, elapsed_ms=elapsed) for img, p in zip(images, batch, strict=True)]


def _once(make: Callable[[], list]) -> Callable[[], list]:
    """``make`` run at most once, however many batch members ask for the step's previews."""
    made: list = []

    def get() -> list:
        if not made:
            made.append(make())
        return made[0]

    return get
