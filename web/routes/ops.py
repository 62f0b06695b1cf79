"""Liveness, readiness and metrics for operators."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from web.deps import ContainerDep, MetricsDep, SettingsDep

router = APIRouter(tags=["operations"])


# These three are async: they must answer while every worker thread waits on a stuck database.
@router.get("/health")
async def health() -> dict:
    """Liveness: the process answers; it touches neither the database nor the thread pool."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(container: ContainerDep, registry: MetricsDep, settings: SettingsDep) -> JSONResponse:
    """Readiness: MySQL answers within PIXY_READY_TIMEOUT and the model is loaded."""
    database = await registry.database_answers(settings.pixy_ready_timeout)
    info = container.generator.info
    body = {
        "status": "ready" if database else "not ready",
        "database": database,
        "model": info.model,
        "device": info.device,
        "dtype": info.dtype,
        "fallback": info.fallback,
        "queue_depth": container.worker.queue_depth,
    }
    return JSONResponse(body, status_code=200 if database else 503)


@router.get("/metrics")
async def metrics(registry: MetricsDep) -> Response:
    """Prometheus text exposition; the stored-images gauge is the last count MySQL gave."""
    await registry.refresh()
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
