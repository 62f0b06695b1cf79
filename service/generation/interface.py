"""What the generator hands back, and the interface the service expects of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from PIL.Image import Image

from core.models import GenerationParams
from service.generation.profiles import ModelProfile


@dataclass(frozen=True)
class GeneratorInfo:
    model: str
    device: str
    dtype: str
    sampler: str
    profile: ModelProfile
    fallback: bool = False
    compiled: bool = False
    family: str = ""  # the diffusers pipeline class
    model_hash: str = ""  # A1111's short hash of the weights ("Model hash:"), "" where unknown


@dataclass(frozen=True)
class GeneratedImage:
    image: Image
    params: GenerationParams
    elapsed_ms: int
    info: GeneratorInfo | None = None  # the model that made it, where a process serves several


@dataclass(frozen=True)
class EditSource:
    """What an edit starts from, at its output size: the image, and for inpainting a mask (white = repaint)."""

    image: Image
    mask: Image | None = None


StepCallback = Callable[[int, int], None]
"""Called after each denoising step with (steps done, steps in all)."""

PreviewCallback = Callable[[int, Callable[[], list[Image]]], None]
"""Called after each step with (steps done, render); ``render()`` makes the batch's cheap previews, so a
caller that wants none this step pays nothing. A generator that cannot preview never calls it."""


class ImageGenerator(Protocol):
    """One model's pipeline. ``to_cpu``, ``to_device`` and ``release`` (park, bring back, drop) are needed only
    where a process serves more models than fit on its device."""

    info: GeneratorInfo

    def generate(
        self,
        batch: list[GenerationParams],
        *,
        on_step: StepCallback | None = None,
        should_stop: Callable[[], bool] | None = None,
        on_preview: PreviewCallback | None = None,
        sources: list[EditSource | None] | None = None,
    ) -> list[GeneratedImage]:
        """Generate one image per entry; entries share steps, guidance, size and mode (``params.mode``).

        An edit's batch comes with one ``sources`` entry per image (passed only when it is an edit).

        ``should_stop`` is asked after every step; once it answers True the remaining steps are skipped
        and what comes back is unfinished, for the caller to discard.
        """
        ...
