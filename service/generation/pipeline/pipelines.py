"""One loaded pipeline, three ways to run it: text-to-image, img2img and inpainting.

The edit pipelines are made on first use by diffusers' ``from_pipe``: they share the loaded components
(UNet, VAE, text encoder, scheduler config), so an edit costs no second copy of the weights.
"""

from __future__ import annotations

from PIL import Image

from core.models import GenerationParams
from service.generation.interface import EditSource


class Pipelines:
    def __init__(self, pipe) -> None:
        self.pipe = pipe
        self._edits: dict[str, object] = {}

    def for_mode(self, mode: str):
        """The pipeline for ``params.mode``; the caller holds the generator's lock."""
        if mode == "txt2img":
            return self.pipe
        if mode not in self._edits:
            from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting

            kind = AutoPipelineForInpainting if mode == "inpaint" else AutoPipelineForImage2Image
            made = kind.from_pipe(self.pipe)
            made.set_progress_bar_config(disable=True)
            self._edits[mode] = made
        return self._edits[mode]


def mode_arguments(first: GenerationParams, sources: list[EditSource | None] | None) -> dict:
    """The call's arguments that depend on the mode: the size, or the sources and the strength."""
    if first.mode == "txt2img":
        return {"width": first.width, "height": first.height}
    if not sources or any(source is None for source in sources):
        raise ValueError(f"a {first.mode} batch needs one source per image")
    arguments = {"image": [source.image for source in sources], "strength": first.strength}
    if first.mode == "inpaint":
        arguments |= {"mask_image": [source.mask for source in sources], "width": first.width, "height": first.height}
    return arguments


def keep_unmasked(images: list[Image.Image], sources: list[EditSource | None] | None) -> list[Image.Image]:
    """Inpainting changes only what the mask marks: every other pixel is the source's, exactly."""
    if not sources:
        return images
    return [
        Image.composite(image, source.image, source.mask) if source is not None and source.mask is not None else image
        for image, source in zip(images, sources, strict=True)
    ]
