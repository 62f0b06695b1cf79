"""What the generator hands back, and the interface the service expects of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from PIL.Image import Image

from core.models import GenerationParams
from service.profiles import ModelProfile


@dataclass(frozen=True)
class GeneratorInfo:
    model: str
    device: str
    dtype: str
    sampler: str
    profile: ModelProfile
    fallback: bool = False
    compiled: bool = False


@dataclass(frozen=True)
class GeneratedImage:
    image: Image
    params: GenerationParams
    elapsed_ms: int


class ImageGenerator(Protocol):
    info: GeneratorInfo

    def generate(self, batch: list[GenerationParams]) -> list[GeneratedImage]:
        """Generate one image per entry; entries share steps, guidance and size."""
        ...
