"""``POST /v1/images/edits``: OpenAI's image edits. Without a mask an img2img, with one an inpainting.

Each image the job makes starts from one of the uploaded images in turn; without ``n``, it makes one per
upload. The answer is shaped as ``/v1/images/generations``' is.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from core.exceptions import InvalidInput
from core.models import GenerationRequest
from core.settings import Settings
from service.edits.uploads import check_uploads
from web.deps import IdempotencyKey, ImageServiceDep, JobServiceDep, SettingsDep, VariantServiceDep
from web.disconnect import run_while_connected
from web.openai_answers import PREFIX, images_response, size_names_width_and_height
from web.openai_models import MAX_N, OpenAIImageRequest, OpenAIImagesResponse
from web.uploads import MAX_IMAGES, read_edit_form
from web.urls import public_base_url

EDITS_PATH = f"{PREFIX}/images/edits"
router = APIRouter(prefix=PREFIX, tags=["openai"])


GENERATION_FIELDS = {"prompt", "negative_prompt", "seed", "steps", "guidance_scale", "strength"} | {
    "model",
    "sampler",
    "scheduler",
}


class OpenAIEditRequest(BaseModel):
    """The form's text fields; a form carries only strings, so numbers are parsed from them (lax)."""

    model_config = ConfigDict(extra="ignore")

    prompt: str
    n: int | None = Field(default=None, ge=1, le=MAX_N)
    size: str | None = None
    response_format: Literal["url", "b64_json"] | None = "url"
    output_format: Literal["png", "jpeg", "webp"] | None = None
    output_compression: int | None = Field(default=None, ge=0, le=100)
    stream: Literal[False] | None = None  # streamed edits are not offered
    negative_prompt: str | None = None
    seed: int | None = None
    steps: int | None = None
    guidance_scale: float | None = None
    strength: float | None = None
    model: str | None = None
    sampler: str | None = None
    scheduler: str | None = None

    def generation_request(self) -> GenerationRequest:
        # The same WIDTHxHEIGHT reading and checks as the generations route.
        width, height = OpenAIImageRequest.model_validate({"prompt": self.prompt, "size": self.size}).dimensions()
        fields = self.model_dump(include=GENERATION_FIELDS)
        return GenerationRequest(**fields, width=width, height=height)


def _parse(fields: dict[str, str]) -> OpenAIEditRequest:
    try:
        return OpenAIEditRequest.model_validate({key: value for key, value in fields.items() if value != ""})
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc.errors()) from exc


def _request(body: OpenAIEditRequest) -> GenerationRequest:
    try:
        return body.generation_request()
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc.errors()) from exc


@router.post(
    "/images/edits",
    response_model=OpenAIImagesResponse,
    response_model_exclude_none=True,
    openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object"}}}}},
)
async def edit_images(
    request: Request,
    service: ImageServiceDep,
    jobs: JobServiceDep,
    variants: VariantServiceDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> OpenAIImagesResponse:
    """Edit 1 to 4 uploaded images (PNG, JPEG or WebP): ``image``, optional ``mask`` (a PNG whose transparent
    pixels mark what to repaint), ``prompt``, and the generation route's fields plus ``strength``."""
    form = await read_edit_form(request)
    body = _parse(form.fields)
    with size_names_width_and_height(body):
        generation = _request(body)
    jobs.check_room()  # before any upload is decoded: a busy server must not pay for a decode it then refuses
    limits = {"max_pixels": settings.pixy_max_upload_pixels, "max_side": settings.pixy_max_upload_side}
    uploads = await run_in_threadpool(check_uploads, form.images, form.mask, **limits)
    n = body.n or min(len(form.images), MAX_IMAGES)
    with size_names_width_and_height(body):
        details = await run_while_connected(
            request,
            lambda gone: jobs.run(
                generation, n=n, abandoned=gone, idempotency_key=idempotency_key, route="v1-edits", uploads=uploads
            ),
        )
    base_url = public_base_url(request, settings)
    return await images_response(details, body=body, base_url=base_url, service=service, variants=variants)


def upload_caps(settings: Settings) -> dict[str, int]:
    """The body caps of the routes that take uploads, for ``web.body_limit``."""
    return {EDITS_PATH: settings.pixy_max_upload_bytes}
