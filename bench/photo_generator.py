"""A generator that answers at once with photo-like 512x512 content: the ceiling figures measure the service.

Not a solid colour, which any encoder squeezes to nothing: smooth colour fields, hard-edged shapes and
sensor-like noise, about 450 KB as a level-1 PNG, like a real sd-turbo image. A few images are drawn once per
size and handed out by seed, so a request costs the generator nothing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import numpy as np
from PIL import Image

from core.models import GenerationParams
from service.generation.interface import GeneratedImage, GeneratorInfo
from service.generation.profiles import TURBO

VARIANTS = 8
NOISE_SIGMA = 4.0  # sets the PNG's size: 4 gives ~460 KB at 512x512, level 1


def photo_like(seed: int, width: int, height: int) -> Image.Image:
    """Smooth fields, then discs and rectangles (edges), then Gaussian noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    x, y = x / width, y / height
    pixels = np.empty((height, width, 3), np.float32)
    for channel in range(3):
        a, b, f1, f2, phase = rng.uniform(0, 1, 5)
        wave = np.sin(2 * np.pi * (2 * f1 * x + 2 * f2 * y) + 6 * phase) * np.cos(2 * np.pi * (3 * a * y - b * x))
        pixels[..., channel] = 110 + 70 * wave + 40 * (x - y)
    for _ in range(12):
        cx, cy, r = rng.uniform(0, 1, 3)
        disc = (x - cx) ** 2 + (y - cy) ** 2 < (0.05 + 0.2 * r) ** 2
        pixels[disc] = pixels[disc] * 0.5 + rng.uniform(0, 255, 3) * 0.5
    for _ in range(8):
        (x0, y0), (w, h) = rng.uniform(0, 0.8, 2), rng.uniform(0.05, 0.3, 2)
        box = (x > x0) & (x < x0 + w) & (y > y0) & (y < y0 + h)
        pixels[box] = pixels[box] * 0.3 + rng.uniform(0, 255, 3) * 0.7
    pixels += rng.normal(0, NOISE_SIGMA, pixels.shape).astype(np.float32)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


class PhotoGenerator:
    """``generate`` returns one of ``VARIANTS`` photo-like images per entry (by seed), with no delay."""

    def __init__(self, model: str | None = None) -> None:
        model = model or os.environ.get("PIXY_MODEL", "tiny")  # what the API and its peers are told
        self.info = GeneratorInfo(model=model, device="cpu", dtype="float32", sampler="Photo", profile=TURBO)
        self._images: dict[tuple[int, int], list[Image.Image]] = {}
        self._lock = threading.Lock()
        self.images(TURBO.width, TURBO.height)

    def images(self, width: int, height: int) -> list[Image.Image]:
        with self._lock:
            if (width, height) not in self._images:
                self._images[width, height] = [photo_like(i, width, height) for i in range(VARIANTS)]
            return self._images[width, height]

    def generate(
        self,
        batch: list[GenerationParams],
        *,
        on_step: Callable[[int, int], None] | None = None,
        **_,
    ) -> list[GeneratedImage]:
        steps = batch[0].steps
        if on_step is not None:
            on_step(steps, steps)
        return [
            GeneratedImage(image=self.images(p.width, p.height)[p.seed % VARIANTS], params=p, elapsed_ms=0)
            for p in batch
        ]
