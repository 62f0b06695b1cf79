"""The image service, resolver and generation wired over the fakes, driven as a job's run drives them."""

from __future__ import annotations

from core.models import ImageDetail
from service.generation.batching import BatchQueue
from service.images.generation import ImageGeneration
from service.images.params import Limits
from service.images.resolver import Resolver
from service.images.service import ImageService


class ImagePath:
    """What a job's run does with a request, less the job row: resolve and check it, generate, store all or none.

    The image service (reads), the resolver and the generation, wired over the fakes as the composition root
    wires them; ``create``/``create_many`` stand where ``JobRunner`` calls them."""

    def __init__(self, repository, generator, limits: Limits, queue: BatchQueue, *, timeout: float) -> None:
        self.images = ImageService(repository)
        self.resolver = Resolver(model=lambda requested: generator.info, limits=limits, images=self.images)
        self.generation = ImageGeneration(queue=queue, repository=repository, info=generator.info, timeout=timeout)
        self.queue = queue

    def resolve(self, request):
        return self.resolver.resolve(request)

    def create_many(self, request, *, n: int, abandoned=None) -> list[ImageDetail]:
        params = self.resolver.resolve(request)
        self.resolver.check_cost(params, n=n)
        return self.generation.generate(params, n=n, abandoned=abandoned)

    def create(self, request, *, abandoned=None) -> ImageDetail:
        return self.create_many(request, n=1, abandoned=abandoned)[0]
