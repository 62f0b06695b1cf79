"""OpenAI-compatible images API under /v1. Its error dialect is chosen by that prefix in ``web.errors``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from core.exceptions import UnsupportedMediaType
from web.deps import IdempotencyKey, ImageServiceDep, JobServiceDep, SettingsDep, VariantServiceDep
from web.disconnect import run_while_connected
from web.openai_answers import PREFIX, images_response, size_names_width_and_height
from web.openai_models import OpenAIImageRequest, OpenAIImagesResponse
from web.openai_stream import stream_images
from web.urls import public_base_url

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
    return await images_response(details, body=body, base_url=base_url, service=service, variants=variants)
