"""OpenAI-compatible images API under /v1. Its error dialect is chosen by that prefix in ``web.errors``."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from core.exceptions import InvalidInput, UnsupportedMediaType
from core.models import ImageDetail
from core.settings import Settings
from service.images.service import ImageService
from service.images.variants import VariantService
from web.deps import IdempotencyKey, ImageServiceDep, JobServiceDep, SettingsDep, VariantServiceDep
from web.disconnect import run_while_connected
from web.openai_models import OpenAIImage, OpenAIImageRequest, OpenAIImagesResponse
from web.openai_stream import stream_images

PREFIX = "/v1"
router = APIRouter(prefix=PREFIX, tags=["openai"])

_BODY_SCHEMA = {"requestBody": {"content": {"application/json": {"schema": OpenAIImageRequest.model_json_schema()}}}}


def is_json(content_type: str | None) -> bool:
    """application/json or a +json type: a cross-site page cannot send these without a CORS preflight."""
    media_type = (content_type or "").partition(";")[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


async def json_body(request: Request) -> Any:
    """The parsed body, or None when it is not JSON: the route answers that with OpenAI's 400, not a 422."""
    if not is_json(request.headers.get("content-type")):
        raise UnsupportedMediaType()
    try:
        return await request.json()
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        return None


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
    query = f"?format={fmt}" if fmt != "png" else ""
    return OpenAIImage(url=f"{base_url}image/{detail.guid}/content{query}", revised_prompt=detail.prompt)


def public_base_url(request: Request, settings: Settings) -> str:
    """OpenAI's url must be absolute: the configured public URL, else (as before) the request's own."""
    return settings.pixy_public_url.rstrip("/") + "/" if settings.pixy_public_url else str(request.base_url)


@router.post(
    "/images/generations",
    response_model=OpenAIImagesResponse,
    response_model_exclude_none=True,
    openapi_extra=_BODY_SCHEMA,
)
async def create_images(
    request: Request,
    service: ImageServiceDep,
    jobs: JobServiceDep,
    variants: VariantServiceDep,
    settings: SettingsDep,
    raw: Any = Depends(json_body),
    idempotency_key: IdempotencyKey = None,
) -> OpenAIImagesResponse:
    """Generate 1 to n images from a prompt, OpenAI's way; each is stored like any other."""
    body = OpenAIImageRequest.parse(raw)
    if body.stream:
        with size_names_width_and_height(body):
            return await stream_images(body, jobs=jobs, service=service, variants=variants)
    with size_names_width_and_height(body):
        details = await run_while_connected(
            request,
            lambda gone: jobs.run(
                body.generation_request(), n=body.n or 1, abandoned=gone, idempotency_key=idempotency_key, route="v1"
            ),
        )
    base_url = public_base_url(request, settings)
    data = await run_in_threadpool(
        lambda: [as_openai(d, body=body, base_url=base_url, service=service, variants=variants) for d in details]
    )
    return OpenAIImagesResponse(created=int(time.time()), data=data)
