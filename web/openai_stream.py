"""``POST /v1/images/generations`` with ``"stream": true``: OpenAI's image events over SSE, from a job.

``image_generation.partial_image`` events carry the job's cheap step previews, scaled to the asked size,
at evenly spaced steps; ``image_generation.completed`` carries each stored image in ``output_format``.
"""

from __future__ import annotations

import base64
import io
import json
import math
import threading
import time
from collections.abc import AsyncIterator
from contextlib import aclosing

from fastapi.responses import StreamingResponse
from PIL import Image
from starlette.concurrency import run_in_threadpool

from core.jobs import Job, JobRequest
from service.images.service import ImageService
from service.images.variants import VariantService
from service.jobs.events import JobEvent
from service.jobs.service import JobService
from web.openai_models import OpenAIImageRequest
from web.sse import SSE_HEADERS, follow

QUALITIES = {"low", "medium", "high", "auto"}


def partial_steps(steps: int, partials: int) -> list[int]:
    """The steps whose previews become partial images: evenly spread, the last step left to the final."""
    return sorted({max(1, math.ceil(steps * (i + 1) / (partials + 1))) for i in range(partials)} - {steps})


def _event(kind: str, data: dict) -> str:
    return f"event: {kind}\ndata: {json.dumps(data | {'type': kind}, separators=(',', ':'))}\n\n"


class _Frames:
    """The fields every OpenAI image event repeats, and the encodings of the two kinds."""

    def __init__(self, body: OpenAIImageRequest, job: Job, variants: VariantService, service: ImageService) -> None:
        self.body, self.variants, self.service = body, variants, service
        self.format = body.output_format or "png"
        self.size = (job.params.width, job.params.height)
        self.common = {
            "size": f"{self.size[0]}x{self.size[1]}",
            "quality": body.quality if body.quality in QUALITIES else "auto",
            "background": "opaque",
            "output_format": self.format,
        }

    def _encode(self, png: bytes) -> str:
        data = self.variants.encode(png, self.format, quality=self.body.output_compression)
        return base64.b64encode(data).decode("ascii")

    def partial(self, preview_b64: str, index: int) -> str:
        with Image.open(io.BytesIO(base64.b64decode(preview_b64))) as small:
            image = small.convert("RGB").resize(self.size, Image.Resampling.BILINEAR)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=1)
        data = self.common | {"b64_json": self._encode(buffer.getvalue()), "partial_image_index": index}
        return _event("image_generation.partial_image", data | {"created_at": int(time.time())})

    def completed(self, guid: str) -> str:
        data = self.common | {"b64_json": self._encode(self.service.content(guid).read())}
        usage = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
        usage["input_tokens_details"] = {"image_tokens": 0, "text_tokens": 0}
        return _event("image_generation.completed", data | {"created_at": int(time.time()), "usage": usage})


async def _stream(
    jobs: JobService, job: Job, frames: _Frames, partials: int, gone: threading.Event
) -> AsyncIterator[str]:
    wanted = set(partial_steps(job.params.steps, partials))
    sent: dict[int, int] = {}

    async def render(event: JobEvent) -> AsyncIterator[str]:
        data = event.data
        if event.kind == "preview" and data["step"] in wanted and sent.get(data["index"], 0) < partials:
            index = sent[data["index"]] = sent.get(data["index"], 0) + 1
            yield await run_in_threadpool(frames.partial, data["image"], index - 1)
        elif event.kind == "succeeded":
            for image in data["images"]:
                yield await run_in_threadpool(frames.completed, image["guid"])
        elif event.kind in ("failed", "cancelled"):
            message = data.get("detail") or f"the generation was {event.kind}"
            yield _event("error", {"error": {"message": message, "type": "image_generation_error"}})

    # However the stream ends (a dropped client cancels it at its next await), ``gone`` is set: a job still
    # queued is then cancelled; one already running finishes and is stored, as on the synchronous routes.
    try:
        async with aclosing(follow(jobs, job.id, after=0, previews=bool(wanted), render=render)) as events:
            async for text in events:
                yield text
    finally:
        gone.set()


async def stream_images(
    body: OpenAIImageRequest, *, jobs: JobService, service: ImageService, variants: VariantService
) -> StreamingResponse:
    """Submit the generation as a job and answer its events, OpenAI's way."""
    request = JobRequest.model_validate(body.generation_request().model_dump() | {"n": body.n or 1})
    gone = threading.Event()
    job = await run_in_threadpool(lambda: jobs.submit(request, abandoned=gone))
    frames = _Frames(body, job, variants, service)
    stream = _stream(jobs, job, frames, body.partial_images or 0, gone)
    return StreamingResponse(stream, media_type="text/event-stream", headers=SSE_HEADERS)
