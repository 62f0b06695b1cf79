"""OpenAI-compatible images API under /v1."""

from __future__ import annotations

import base64
import time
from typing import Any

from fastapi import APIRouter, Depends, Request

from core.exceptions import InvalidInput
from core.models import ImageDetail
from core.openai_models import OpenAIImage, OpenAIImageRequest, OpenAIImagesResponse, OpenAIInvalidRequest
from service.images import ImageService
from web.deps import ImageServiceDep

router = APIRouter(prefix="/v1", tags=["openai"])

_BODY_SCHEMA = {"requestBody": {"content": {"application/json": {"schema": OpenAIImageRequest.model_json_schema()}}}}


async def json_body(request: Request) -> Any:
    """The parsed body, or None when it is not JSON: the route answers that with OpenAI's 400, not a 422."""
    try:
        return await request.json()
    except ValueError:
        return None


def _png_base64(service: ImageService, guid: str) -> str:
    return base64.b64encode(service.content(guid).stored.read()).decode("ascii")


def _as_openai(detail: ImageDetail, *, response_format: str, base_url: str, service: ImageService) -> OpenAIImage:
    if response_format == "b64_json":
        return OpenAIImage(b64_json=_png_base64(service, detail.guid), revised_prompt=detail.prompt)
    return OpenAIImage(url=f"{base_url}image/{detail.guid}/content", revised_prompt=detail.prompt)


def _create(service: ImageService, body: OpenAIImageRequest) -> list[ImageDetail]:
    """Generate, answering every invalid input with OpenAI's 400; ``size`` stands for width and height."""
    try:
        return service.create_many(body.generation_request(), n=body.n or 1)
    except InvalidInput as exc:
        field = "size" if body.size and exc.field in ("width", "height") else exc.field
        raise OpenAIInvalidRequest(exc.message, field=field) from exc


@router.post(
    "/images/generations",
    response_model=OpenAIImagesResponse,
    response_model_exclude_none=True,
    openapi_extra=_BODY_SCHEMA,
)
def create_images(request: Request, service: ImageServiceDep, raw: Any = Depends(json_body)) -> OpenAIImagesResponse:
    """Generate 1 to n images from a prompt, OpenAI's way; each is stored like any other."""
    body = OpenAIImageRequest.parse(raw)
    details = _create(service, body)
    base_url = str(request.base_url)
    data = [
        _as_openai(d, response_format=body.response_format or "url", base_url=base_url, service=service)
        for d in details
    ]
    return OpenAIImagesResponse(created=int(time.time()), data=data)
