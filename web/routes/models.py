"""What a request may choose: the samplers and their noise schedules."""

from __future__ import annotations

from fastapi import APIRouter

from core.samplers import SAMPLERS, SCHEDULERS

router = APIRouter(tags=["models"])


@router.get("/samplers")
async def list_samplers() -> dict[str, list[str]]:
    """The sampler and scheduler names a request may give (AUTOMATIC1111's)."""
    return {"samplers": list(SAMPLERS), "schedulers": list(SCHEDULERS)}
