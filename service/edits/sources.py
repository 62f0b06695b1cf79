"""Edits (img2img and inpainting): how a request becomes an edit's parameters, and what it starts from.

An edit starts from a stored image (``init_image``, read from the image store when the job runs) or from
images uploaded with it (kept in ``job_inputs`` until the job ends), so a queued edit survives a restart
and can run in any process that reads MySQL.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from core.exceptions import ImageException, ImageNotFound, InvalidInput
from core.models import GenerationParams, GenerationRequest, ImageDetail
from data.job_inputs import JobInputRepository
from data.write import Write
from service.edits.uploads import Uploads, decode_input
from service.generation.interface import EditSource
from service.images.params import Limits

logger = logging.getLogger(__name__)

IMG2IMG_STRENGTH = 0.6  # keeps the composition and colours, redraws the detail
INPAINT_STRENGTH = 1.0  # the masked area is drawn anew


@dataclass(frozen=True)
class Source:
    """What an edit starts from: the source's size, and where its pixels are."""

    width: int
    height: int
    init_image: str | None = None
    inputs: int = 0
    mask: bool = False


def fit_size(width: int, height: int, limits: Limits) -> tuple[int, int]:
    """A source's size as an output size: scaled down (aspect kept) into the limits, in multiples of 8."""
    scale = min(1.0, limits.max_side / max(width, height), math.sqrt(limits.max_pixels / (width * height)))
    return max(64, int(width * scale) // 8 * 8), max(64, int(height * scale) // 8 * 8)


def find_source(
    request: GenerationRequest, uploads: Uploads | None, get: Callable[[str], ImageDetail]
) -> Source | None:
    """The request's source, if it is an edit; an ``init_image`` naming no stored image is a 422 naming it."""
    if uploads is not None:
        width, height = uploads.size
        return Source(width, height, inputs=len(uploads.images), mask=uploads.mask is not None)
    if request.init_image is None:
        return None
    try:
        image = get(request.init_image)
    except ImageNotFound:
        raise InvalidInput("init_image: no stored image has this guid", field="init_image") from None
    return Source(image.width or 512, image.height or 512, init_image=image.guid)


def sized(request: GenerationRequest, source: Source | None, limits: Limits) -> GenerationRequest:
    """Without ``width`` and ``height``, an edit keeps its source's size (fitted into the limits)."""
    if source is None or (request.width and request.height):
        return request
    width, height = fit_size(source.width, source.height, limits)
    return request.model_copy(update={"width": request.width or width, "height": request.height or height})


def as_edit(params: GenerationParams, request: GenerationRequest, source: Source | None, limits: Limits):
    """``params`` with the edit's fields; ``strength`` without a source to start from is a 422 naming it."""
    if source is None:
        if request.strength is not None:
            raise InvalidInput("strength: needs an init_image (or an uploaded image) to start from", field="strength")
        return params
    strength = request.strength or (INPAINT_STRENGTH if source.mask else IMG2IMG_STRENGTH)
    steps = params.steps
    # diffusers runs int(steps * strength) of the steps: at least one must be left.
    if int(steps * strength) < 1:
        if request.steps is not None:
            message = f"strength: {params.steps} steps x {strength} leaves no step to run; ask for more steps"
            raise InvalidInput(message, field="strength")
        steps = math.ceil(1 / strength)
        steps += int(steps * strength) < 1
        if steps > limits.max_steps:
            raise InvalidInput(f"strength: too small for at most {limits.max_steps} steps", field="strength")
    update = {"steps": steps, "strength": strength, "init_image": source.init_image}
    return params.model_copy(update=update | {"inputs": source.inputs, "mask": source.mask})


class EditInputs:
    """An edit's sources: written with its job, read when it runs, dropped when it ends."""

    def __init__(self, repository: JobInputRepository, content: Callable[[str], bytes]) -> None:
        self.repository = repository
        self.content = content  # a stored image's PNG bytes, by guid

    def writes(self, job_id: str, uploads: Uploads, params: GenerationParams) -> list[Write]:
        return self.repository.writes(job_id, uploads.encoded(params.width, params.height))

    def load(self, job_id: str, params: GenerationParams) -> list[EditSource] | None:
        """The edit's sources at the output size (the i-th image uses the (i mod k)-th), or None for txt2img."""
        if params.mode == "txt2img":
            return None
        size = (params.width, params.height)
        if params.init_image is not None:
            try:
                data = self.content(params.init_image)
            except ImageNotFound:
                raise InvalidInput("init_image: the image was deleted before the job ran", field="init_image") from None
            return [EditSource(decode_input(data).convert("RGB").resize(size), None)]
        rows = self.repository.get(job_id)
        if len(rows) < params.inputs + params.mask:
            raise ImageException("this edit's uploaded images are missing")
        mask = decode_input(rows["mask"]).convert("L") if params.mask else None
        return [EditSource(decode_input(rows[f"image{i}"]).convert("RGB"), mask) for i in range(params.inputs)]

    def discard(self, job_id: str, params: GenerationParams) -> None:
        """Once the job has ended, its uploads go (best effort: the job's row takes them with it anyway)."""
        if not params.inputs:
            return
        try:
            self.repository.delete(job_id)
        except ImageException as exc:
            logger.warning("job %s: its uploads were not removed: %s", job_id, exc.message)
