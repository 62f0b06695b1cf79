"""Pydantic models shared by every layer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.samplers import Sampler, Schedule

SEED_MAX = 2**32 - 1
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}
# Bidi overrides and isolates reorder how a prompt reads in a log or a gallery without changing what it is.
_BIDI = {*range(0x202A, 0x202F), *range(0x2066, 0x206A)}


def _refused(code: int) -> str | None:
    if code < 32 or 127 <= code <= 0x9F:
        return "control character"
    if code in _BIDI:
        return "bidirectional override"
    if 0xD800 <= code <= 0xDFFF:  # a lone surrogate: JSON lets it through, the tokenizer then fails the batch
        return "lone surrogate"
    return None


def _reject_controls(value: str) -> str:
    """Refuse what no prompt needs: C0 and C1 controls (tab and newlines aside), bidi overrides, surrogates."""
    for char in value:
        kind = None if char in _ALLOWED_CONTROLS else _refused(ord(char))
        if kind:
            raise ValueError(f"{kind} U+{ord(char):04X} is not allowed")
    return value


class GenerationRequest(BaseModel):
    """What a client may ask for. Limits that depend on settings are checked in the service."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    prompt: str = Field(min_length=1, strict=True)
    negative_prompt: str | None = Field(default=None, strict=True)
    seed: int | None = Field(default=None, ge=0, le=SEED_MAX, strict=True)
    steps: int | None = Field(default=None, ge=1, strict=True)
    guidance_scale: float | None = Field(default=None, ge=0, strict=True, allow_inf_nan=False)
    width: int | None = Field(default=None, ge=64, strict=True)
    height: int | None = Field(default=None, ge=64, strict=True)
    # img2img: the guid of a stored image to start from, and how much of it to repaint (0 < strength <= 1).
    init_image: str | None = Field(default=None, strict=True, max_length=64)
    strength: float | None = Field(default=None, gt=0, le=1, strict=True, allow_inf_nan=False)
    # The id of one of the models this server lists (GET /models); unset, or an OpenAI name: the default.
    model: str | None = Field(default=None, strict=True, min_length=1, max_length=255)
    # AUTOMATIC1111's names (core/samplers.py); unset: the model's own scheduler.
    sampler: Sampler | None = None
    scheduler: Schedule | None = None

    @field_validator("prompt")
    @classmethod
    def _prompt_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("prompt must not be blank")
        return _reject_controls(value)

    @field_validator("negative_prompt")
    @classmethod
    def _negative_prompt_printable(cls, value: str | None) -> str | None:
        return None if value is None else _reject_controls(value)

    @field_validator("width", "height")
    @classmethod
    def _multiple_of_8(cls, value: int | None) -> int | None:
        if value is not None and value % 8:
            raise ValueError("must be a multiple of 8")
        return value


class GenerationParams(BaseModel):
    """A fully resolved request: every default filled in, every limit checked."""

    model_config = ConfigDict(frozen=True)

    prompt: str
    negative_prompt: str
    seed: int
    steps: int
    guidance_scale: float
    width: int
    height: int
    # An edit (defaults: text-to-image, so rows written before edits still parse). ``strength`` is set for
    # every edit; its source is ``init_image`` (a stored image's guid) or ``inputs`` images uploaded with the
    # job (job_inputs rows), repainted where ``mask`` says (inpainting) or all over (img2img).
    init_image: str | None = None
    strength: float | None = None
    inputs: int = 0
    mask: bool = False
    # The model's id; empty in rows written before models were chosen: the default.
    model: str = ""
    # None: the model's own scheduler, as it shipped (rows written before samplers parse as that).
    sampler: str | None = None
    scheduler: str | None = None

    @property
    def mode(self) -> str:
        """txt2img, img2img or inpaint: which pipeline runs it."""
        return "inpaint" if self.mask else "img2img" if self.strength is not None else "txt2img"


class ImageDetail(BaseModel):
    """An image as the API returns it and MySQL remembers it."""

    guid: str
    filename: str
    prompt: str
    negative_prompt: str = ""
    seed: int | None = None
    steps: int | None = None
    guidance_scale: float | None = None
    width: int | None = None
    height: int | None = None
    model: str = ""
    created_at: datetime | None = None
    generation_ms: int | None = None
    init_image: str | None = None  # the stored image an img2img started from
    strength: float | None = None  # set for every edit
    sampler: str | None = None  # A1111's name of the sampler used, and its schedule type (automatic, …)
    scheduler: str | None = None


@dataclass(frozen=True)
class PageQuery:
    """One page of the history, newest first: by ``offset``, or after the image ``before`` (keyset).

    ``before_id`` is the keyset position from a paging cursor: it still works once its image is deleted.
    """

    limit: int = 100
    offset: int = 0
    q: str | None = None
    before: str | None = None
    before_id: int | None = None
