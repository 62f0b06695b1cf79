"""The OpenAI Images API's request and answer: an HTTP dialect, translated here into PixyProxy's models."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.exceptions import InvalidInput
from core.models import GenerationRequest

MAX_N = 4
_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")


class OpenAIImageRequest(BaseModel):
    """``POST /v1/images/generations``. Ranges of the generation fields are checked by the service."""

    model_config = ConfigDict(extra="ignore")

    prompt: str = Field(strict=True)
    n: int | None = Field(default=1, ge=1, le=MAX_N, strict=True)
    size: str | None = None
    response_format: Literal["url", "b64_json"] | None = "url"
    # gpt-image-1's: the b64_json answer's encoding (a url points at the content route's ?format=).
    output_format: Literal["png", "jpeg", "webp"] | None = None
    output_compression: int | None = Field(default=None, ge=0, le=100, strict=True)
    # gpt-image-1's streaming: SSE events instead of one answer, with up to 3 partial images first.
    stream: bool | None = Field(default=None, strict=True)
    partial_images: int | None = Field(default=None, ge=0, le=3, strict=True)
    negative_prompt: str | None = Field(default=None, strict=True)
    seed: int | None = Field(default=None, strict=True)
    steps: int | None = Field(default=None, strict=True)
    guidance_scale: float | None = Field(default=None, strict=True)
    sampler: Any = None  # extra body fields, checked with the rest of a generation request
    scheduler: Any = None
    model: Any = None  # one of GET /v1/models; OpenAI's own names mean the default
    quality: Any = None
    style: Any = None
    user: Any = None

    @field_validator("size")
    @classmethod
    def _size_is_w_x_h(cls, value: str | None) -> str | None:
        if value is not None and value != "auto" and not _SIZE.match(value):
            raise ValueError("must be 'WIDTHxHEIGHT', for example '512x512'")
        return value

    @classmethod
    def parse(cls, body: Any) -> OpenAIImageRequest:
        """Validate a raw JSON body (None when it was not JSON), naming the first bad field."""
        try:
            return cls.model_validate(body)
        except ValidationError as exc:
            raise InvalidInput.from_validation(exc.errors()) from exc

    def dimensions(self) -> tuple[int | None, int | None]:
        """Width and height from ``size``; None leaves the model's native size."""
        match = _SIZE.match(self.size or "")
        return (int(match[1]), int(match[2])) if match else (None, None)

    def generation_request(self) -> GenerationRequest:
        width, height = self.dimensions()
        try:
            return GenerationRequest(
                prompt=self.prompt,
                negative_prompt=self.negative_prompt,
                seed=self.seed,
                steps=self.steps,
                guidance_scale=self.guidance_scale,
                model=self.model,
                sampler=self.sampler,
                scheduler=self.scheduler,
                width=width,
                height=height,
            )
        except ValidationError as exc:
            raise InvalidInput.from_validation(exc.errors()) from exc


class OpenAIImage(BaseModel):
    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None


class OpenAIImagesResponse(BaseModel):
    created: int
    data: list[OpenAIImage]
