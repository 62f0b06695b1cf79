"""The image service: what the routes call. Knows nothing of HTTP."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import replace

from core.clock import now
from core.content import ImageContent
from core.cursor import encode_cursor
from core.exceptions import GenerationFailed, ImageNotFound, RequestAbandoned
from core.ids import canonical_guid
from core.models import SEED_MAX, GenerationParams, GenerationRequest, ImageDetail, PageQuery
from data.images import ImageRepository
from data.write import Write
from service.edits.sources import as_edit, find_source, sized
from service.edits.uploads import Uploads
from service.generation.batching import GenerationWorker, Hooks
from service.generation.interface import EditSource, GeneratedImage, GeneratorInfo
from service.images.params import Limits, check_cost, resolve, revalidate
from service.images.png import encode_png

# How often a waiting request looks whether its client has gone.
ABANDON_POLL_S = 0.1


def _canonical(page: PageQuery | None) -> PageQuery:
    page = page or PageQuery()
    return replace(page, before=canonical_guid(page.before)) if page.before is not None else page


class ImageService:
    def __init__(
        self,
        *,
        repository: ImageRepository,
        worker: GenerationWorker,
        info: GeneratorInfo,
        limits: Limits,
        compress_level: int = 1,
        timeout: float = 300.0,
    ) -> None:
        self.repository = repository
        self.worker = worker
        self.info = info
        self.limits = limits
        self.compress_level = compress_level
        self.timeout = timeout

    def resolve(self, request: GenerationRequest | dict, *, uploads: Uploads | None = None) -> GenerationParams:
        """Defaults filled in and limits checked; an edit (``init_image`` or ``uploads``) also gets its source's
        size unless one is asked for, and its strength."""
        # The one revalidation of what the web layer sends, as the service's contract asks.
        request = revalidate(request)
        source = find_source(request, uploads, self.get)
        request = sized(request, source, self.limits)
        return as_edit(resolve(request, self.info.profile, self.limits), request, source, self.limits)

    def create(self, request: GenerationRequest | dict, *, abandoned: threading.Event | None = None) -> ImageDetail:
        return self.create_many(request, n=1, abandoned=abandoned)[0]

    def create_many(
        self,
        request: GenerationRequest | dict,
        *,
        n: int,
        abandoned: threading.Event | None = None,
    ) -> list[ImageDetail]:
        """``n`` images with seeds seed, seed+1, …, stored all together or not at all."""
        first = self.resolve(request)
        check_cost(first, n=n, limits=self.limits)
        return self.generate(first, n=n, abandoned=abandoned)

    def generate(
        self,
        first: GenerationParams,
        *,
        n: int,
        abandoned: threading.Event | None = None,
        hooks_for: Callable[[int], Hooks] | None = None,
        also: Callable[[list[ImageDetail]], Write] | None = None,
        sources: list[EditSource] | None = None,
    ) -> list[ImageDetail]:
        """``create_many`` for parameters already resolved and within the limits (a job's); an edit's i-th
        image starts from ``sources[i % len(sources)]``.

        All are queued before any is awaited. Setting ``abandoned`` (the client has gone) cancels what
        has not started and discards what has, so nothing is stored for it. ``hooks_for(i)`` gives the
        worker's hooks for the i-th image (a job's progress and cancellation).
        """
        batch = [first.model_copy(update={"seed": (first.seed + i) % (SEED_MAX + 1)}) for i in range(n)]
        futures: list[Future] = []
        try:
            for i, params in enumerate(batch):
                source = sources[i % len(sources)] if sources else None
                futures.append(self.worker.submit(params, hooks_for(i) if hooks_for else None, source))
            generated = [self._wait(future, abandoned) for future in futures]
        except BaseException:
            for future in futures:  # what has not started never will; what has is discarded
                future.cancel()
            raise
        if abandoned is not None and abandoned.is_set():
            raise RequestAbandoned()
        return self.store_all(generated, also=also)

    def _wait(self, future: Future, abandoned: threading.Event | None) -> GeneratedImage:
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
        p = generated.params
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
            model=self.info.model,
            created_at=now(),
            generation_ms=generated.elapsed_ms,
            init_image=p.init_image,
            strength=p.strength,
        )
        png = encode_png(generated.image, detail, sampler=self.info.sampler, compress_level=self.compress_level)
        return detail, png

    def store(self, generated: GeneratedImage) -> ImageDetail:
        """Write one image's row and content together."""
        return self.store_all([generated])[0]

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

    def get(self, guid: str) -> ImageDetail:
        image = self.repository.get(canonical_guid(guid))
        if image is None:
            raise ImageNotFound()
        return image

    def list(self, page: PageQuery | None = None) -> list[ImageDetail]:
        return self.repository.list(_canonical(page))

    def list_page(self, page: PageQuery | None = None) -> tuple[list[ImageDetail], str | None]:
        """A page, and the cursor of the page after it: a position, so it survives a delete."""
        images, position = self.repository.list_page(_canonical(page))
        return images, (encode_cursor(position) if position is not None else None)

    def count(self, q: str | None = None) -> int:
        return self.repository.count(q)

    def content(self, guid: str) -> ImageContent:
        content = self.repository.content(canonical_guid(guid))
        if content is None:
            raise ImageNotFound()
        return content

    def ping(self) -> None:
        self.repository.ping()

    def delete(self, guid: str) -> None:
        if not self.repository.delete(canonical_guid(guid)):
            raise ImageNotFound()
