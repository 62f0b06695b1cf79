"""A generator that sleeps a fixed time per image and costs no CPU: the scale-out figure measures the orchestration.

It loads no torch, so a worker process built on it is small, and many fit on a two-core machine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from PIL import Image

from core.models import GenerationParams
from service.generation.interface import GeneratedImage, GeneratorInfo
from service.generation.profiles import TINY

SECONDS_PER_IMAGE = 0.2


class SleepGenerator:
    """``generate`` sleeps ``seconds`` per image (spread over the steps) and returns solid images."""

    def __init__(self, seconds: float = SECONDS_PER_IMAGE, model: str | None = None) -> None:
        self.seconds = seconds
        model = model or os.environ.get("PIXY_MODEL", "tiny")  # what the API and its peers are told
        self.info = GeneratorInfo(model=model, device="cpu", dtype="float32", sampler="Sleep", profile=TINY)

    def generate(
        self,
        batch: list[GenerationParams],
        *,
        on_step: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        **_,
    ) -> list[GeneratedImage]:
        started = time.perf_counter()
        steps = batch[0].steps
        for step in range(1, steps + 1):
            time.sleep(self.seconds * len(batch) / steps)
            if on_step is not None:
                on_step(step, steps)
            if should_stop is not None and should_stop():
                break
        elapsed = int((time.perf_counter() - started) * 1000)
        return [
            GeneratedImage(
                image=Image.new("RGB", (p.width, p.height), (p.seed % 256, 90, 160)), params=p, elapsed_ms=elapsed
            )
            for p in batch
        ]
