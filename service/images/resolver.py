"""How a request becomes final parameters: the model's defaults filled in, an edit's source found, every
limit checked, before anything is written or queued."""

from __future__ import annotations

from collections.abc import Callable

from core.models import GenerationParams, GenerationRequest
from service.edits.sources import as_edit, find_source, sized
from service.edits.uploads import Uploads
from service.generation.interface import GeneratorInfo
from service.images.params import Limits, check_cost, resolve, revalidate
from service.images.service import ImageService


class Resolver:
    def __init__(self, *, model: Callable[[str | None], GeneratorInfo], limits: Limits, images: ImageService) -> None:
        """``model(requested)`` says what the model a request names is (None: the default), or refuses it naming
        ``model``; it may be served by another process."""
        self.model = model
        self.limits = limits
        self.images = images

    def resolve(self, request: GenerationRequest | dict, *, uploads: Uploads | None = None) -> GenerationParams:
        """Defaults filled in and limits checked; an edit (``init_image`` or ``uploads``) also gets its source's
        size unless one is asked for, and its strength."""
        # The one revalidation of what the web layer sends, as the service's contract asks.
        request = revalidate(request)
        source = find_source(request, uploads, self.images.get)
        request = sized(request, source, self.limits)
        info = self.model(request.model)
        resolved = resolve(request, info.profile, self.limits, own_sampler=info.sampler).model_copy(
            update={"model": info.model}
        )
        return as_edit(resolved, request, source, self.limits)

    def check_cost(self, params: GenerationParams, *, n: int) -> None:
        check_cost(params, n=n, limits=self.limits)
