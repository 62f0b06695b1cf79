"""Revalidate a request and resolve it against the model's defaults and the configured limits."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from core.exceptions import InvalidInput
from core.models import SEED_MAX, GenerationParams, GenerationRequest
from core.samplers import AUTOMATIC, UNSHAPED
from core.settings import Settings
from service.generation.profiles import ModelProfile


@dataclass(frozen=True)
class Limits:
    max_steps: int
    max_side: int
    max_pixels: int
    max_guidance: float
    max_prompt_chars: int
    max_cost: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, max_cost: float | None = None) -> Limits:
        return cls(
            max_steps=settings.pixy_max_steps,
            max_side=settings.pixy_max_side,
            max_pixels=settings.pixy_max_pixels,
            max_guidance=settings.pixy_max_guidance,
            max_prompt_chars=settings.pixy_max_prompt_chars,
            max_cost=max_cost if max_cost is not None else settings.pixy_max_cost,
        )


def revalidate(request: GenerationRequest | dict[str, Any]) -> GenerationRequest:
    """Validate again what the web layer built: the service trusts no caller to have done it."""
    data = request.model_dump() if isinstance(request, GenerationRequest) else request
    try:
        return GenerationRequest.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc.errors()) from exc


def _check(ok: bool, field: str, message: str) -> None:
    if not ok:
        raise InvalidInput(f"{field}: {message}", field=field)


def resolve(
    request: GenerationRequest, profile: ModelProfile, limits: Limits, *, own_sampler: str = ""
) -> GenerationParams:
    """Fill in defaults, then check every limit before any work starts; ``own_sampler`` is the model's own."""
    params = GenerationParams(
        prompt=request.prompt,
        negative_prompt=request.negative_prompt or "",
        seed=request.seed if request.seed is not None else secrets.randbelow(SEED_MAX + 1),
        steps=request.steps or profile.steps,
        guidance_scale=(
            float(request.guidance_scale) if request.guidance_scale is not None else profile.guidance_scale
        ),
        width=request.width or profile.width,
        height=request.height or profile.height,
        sampler=request.sampler,
        scheduler=request.scheduler,
    )
    sampler = request.sampler or own_sampler
    _check(
        (request.scheduler or AUTOMATIC) == AUTOMATIC or sampler not in UNSHAPED,
        "scheduler",
        f"{sampler} takes only the automatic schedule",
    )
    _check(len(params.prompt) <= limits.max_prompt_chars, "prompt", f"at most {limits.max_prompt_chars} characters")
    _check(
        len(params.negative_prompt) <= limits.max_prompt_chars,
        "negative_prompt",
        f"at most {limits.max_prompt_chars} characters",
    )
    _check(params.steps <= limits.max_steps, "steps", f"must be between 1 and {limits.max_steps}")
    _check(
        params.guidance_scale <= limits.max_guidance, "guidance_scale", f"must be between 0 and {limits.max_guidance}"
    )
    for side in ("width", "height"):
        _check(getattr(params, side) <= limits.max_side, side, f"must be between 64 and {limits.max_side}")
    _check(
        params.width * params.height <= limits.max_pixels,
        "width",
        f"width*height must be at most {limits.max_pixels} pixels",
    )
    return params


def cost(params: GenerationParams, *, n: int = 1) -> float:
    """What a request asks of the generator: steps x megapixels x images, roughly proportional to its time."""
    return params.steps * params.width * params.height / 1_000_000 * n


def check_cost(params: GenerationParams, *, n: int, limits: Limits) -> None:
    """Each limit alone allows hours of work when combined; this caps the product, before any work starts."""
    if limits.max_cost is None:
        return
    asked = cost(params, n=n)
    _check(
        asked <= limits.max_cost,
        "cost",
        f"steps x megapixels x n is {asked:.1f}, over this server's limit of {limits.max_cost:g} (PIXY_MAX_COST);"
        " ask for fewer steps, a smaller size or fewer images",
    )
