"""What the OpenAI-compatible routes share: their prefix, their error naming, and the shape of their answer."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.concurrency import run_in_threadpool

from core.exceptions import InvalidInput
from core.models import ImageDetail
from service.images.service import ImageService
from service.images.variants import VariantService
from web.openai_models import OpenAIImage, OpenAIImagesResponse
from web.urls import content_url

PREFIX = "/v1"


@contextmanager
def size_names_width_and_height(body: Any) -> Iterator[None]:
    """The client sent ``size``, not width and height: name what it sent."""
    try:
        yield
    except InvalidInput as exc:
        if body.size and exc.field in ("width", "height"):
            exc.field = "size"
        raise


def as_openai(
    detail: ImageDetail,
    *,
    body: Any,
    base_url: str,
    service: ImageService,
    variants: VariantService,
) -> OpenAIImage:
    fmt = body.output_format or "png"
    if (body.response_format or "url") == "b64_json":
        data = variants.encode(service.content(detail.guid).read(), fmt, quality=body.output_compression)
        return OpenAIImage(b64_json=base64.b64encode(data).decode("ascii"), revised_prompt=detail.prompt)
    return OpenAIImage(url=content_url(base_url, detail.guid, fmt), revised_prompt=detail.prompt)


async def images_response(
    details: list[ImageDetail], *, body: Any, base_url: str, service: ImageService, variants: VariantService
) -> OpenAIImagesResponse:
    """The answer of both image routes; b64_json reads and encodes every image, so off the event loop."""
    data = await run_in_threadpool(
        lambda: [as_openai(d, body=body, base_url=base_url, service=service, variants=variants) for d in details]
    )
    return OpenAIImagesResponse(created=int(time.time()), data=data)
