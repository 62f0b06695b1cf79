"""Generating resolved parameters through the batch queue, and storing what comes back, all or nothing."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, wait

from core.clock import now
from core.exceptions import GenerationFailed, RequestAbandoned
from core.models import SEED_MAX, GenerationParams, ImageDetail
from core.samplers import AUTOMATIC
from data.images import ImageRepository
from data.write import Write
from service.generation.batching import BatchQueue, Hooks
from service.generation.interface import EditSource, GeneratedImage, GeneratorInfo
from service.images.png import encode_png
from service.images.png_encoders import PillowEncoder, PixelEncoder

# How often a waiting request looks whether its client has gone.
ABANDON_POLL_S = 0.1


class ImageGeneration:
    def __init__(
        self,
        *,
        queue: BatchQueue,
        repository: ImageRepository,
        info: GeneratorInfo,
        encoder: PixelEncoder | None = None,
        timeout: float = 300.0,
    ) -> None:
        self.queue = queue
        self.repository = repository
        self.info = info
        self.encoder = encoder or PillowEncoder()
        self.timeout = timeout

    def generate(
        self,
        first: GenerationParams,
        *,
        n: int,
        abandoned=None,
        hooks_for: Callable[[int], Hooks] | None = None,
        also: Callable[[list[ImageDetail]], Write] | None = None,
        sources: list[EditSource] | None = None,
    ) -> list[ImageDetail]:
        """``n`` images of resolved, checked parameters, with seeds seed, seed+1, …; an edit's i-th image
        starts from ``sources[i % len(sources)]``.

        All are queued before any is awaited. Setting ``abandoned`` (the client has gone, or a cancel)
        cancels what has not started and discards what has, so nothing is stored for it. ``hooks_for(i)``
        gives the i-th image's hooks (a job's progress and cancellation).
        """
        batch = [first.model_copy(update={"seed": (first.seed + i) % (SEED_MAX + 1)}) for i in range(n)]
        futures: list[Future] = []
        try:
            for i, params in enumerate(batch):
                source = sources[i % len(sources)] if sources else None
                futures.append(self.queue.submit(params, hooks_for(i) if hooks_for else None, source))
            generated = [self._wait(future, abandoned) for future in futures]
        except BaseException:
            for future in futures:  # what has not started never will; what has is discarded
                future.cancel()
            raise
        if abandoned is not None and abandoned.is_set():
            raise RequestAbandoned()
        return self.store_all(generated, also=also)

    def _wait(self, future: Future, abandoned) -> GeneratedImage:
        deadline = time.monotonic() + self.timeout
        while True:
            if abandoned is not None and abandoned.is_set():
                raise RequestAbandoned()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GenerationFailed("image generation timed out")
            if wait([future], timeout=remaining if abandoned is None else min(remaining, ABANDON_POLL_S)).done:
                return future.result()

    def _record(self, generated: GeneratedImage) -> tuple[ImageDetail, bytes]:
        """Encode outside the generator's lock."""
        guid = str(uuid.uuid4())
        p, info = generated.params, generated.info or self.info
        detail = ImageDetail(
            guid=guid,
            filename=f"{guid}.png",
            prompt=p.prompt,
            negative_prompt=p.negative_prompt,
            seed=p.seed,
            steps=p.steps,
            guidance_scale=p.guidance_scale,
            width=p.width,
            height=p.height,
            model=info.model,
            created_at=now(),
            generation_ms=generated.elapsed_ms,
            init_image=p.init_image,
            strength=p.strength,
            sampler=p.sampler or info.sampler,
            scheduler=p.scheduler or AUTOMATIC,
        )
        png = encode_png(
            generated.image, detail, sampler=detail.sampler, encoder=self.encoder, model_hash=info.model_hash
        )
        return detail, png

    def store_all(
        self, generated: list[GeneratedImage], *, also: Callable[[list[ImageDetail]], Write] | None = None
    ) -> list[ImageDetail]:
        """Write every image or none, in one transaction; ``also(details)`` is written in it too."""
        records = [self._record(each) for each in generated]
        details = [detail for detail, _ in records]
        extra = {"also": also(details)} if also is not None else {}
        if len(records) == 1:
            detail, png = records[0]
            self.repository.add(detail, content=png, sha256=hashlib.sha256(png).hexdigest(), **extra)
        else:
            self.repository.add_many(records, **extra)
        return details
