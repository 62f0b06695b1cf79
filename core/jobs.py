"""Jobs: a generation accepted now and run in the background, with its progress and outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from core.models import GenerationParams, GenerationRequest, ImageDetail

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
MAX_JOB_IMAGES = 4


class JobRequest(GenerationRequest):
    """``POST /jobs``: what ``POST /image/`` takes, plus ``n`` images and a ``webhook_url``."""

    n: int = Field(default=1, ge=1, le=MAX_JOB_IMAGES, strict=True)
    webhook_url: str | None = Field(default=None, strict=True, max_length=2048)


class JobError(BaseModel):
    detail: str


class Job(BaseModel):
    id: str
    status: JobStatus
    position: int | None = None
    step: int = 0
    steps: int
    progress: float = 0.0
    eta_ms: int | None = None
    n: int = 1
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    params: GenerationParams
    images: list[ImageDetail] = []
    error: JobError | None = None


def outcome_data(job: Job) -> dict:
    """What a finished job's last event carries: the error's detail if it failed, else the whole job."""
    return {"detail": job.error.detail} if job.status == "failed" and job.error else job.model_dump(mode="json")
