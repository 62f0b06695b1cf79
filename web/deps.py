"""Dependencies: the only way routes reach what the composition root built."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from core.settings import Settings
from service.assembly import Container
from service.images.service import ImageService
from service.images.variants import VariantService
from service.jobs.service import JobService
from web.metrics import Metrics


async def get_container(request: Request) -> Container:
    return request.app.state.container


async def get_image_service(request: Request) -> ImageService:
    return request.app.state.container.images


async def get_variant_service(request: Request) -> VariantService:
    return request.app.state.container.variants


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


async def get_job_service(request: Request) -> JobService:
    return request.app.state.container.jobs


ContainerDep = Annotated[Container, Depends(get_container)]
ImageServiceDep = Annotated[ImageService, Depends(get_image_service)]
JobServiceDep = Annotated[JobService, Depends(get_job_service)]
VariantServiceDep = Annotated[VariantService, Depends(get_variant_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
# The IETF draft's header on the creating routes; its length is checked where it is used, so the 422 names it.
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
