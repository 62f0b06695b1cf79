"""Liveness, readiness and metrics for operators."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

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
    if container.cluster is not None:
        return await _ready_distributed(container, database, settings.pixy_model)
    info = container.generator.info
    body = {
        "status": "ready" if database else "not ready",
        "database": database,
        "model": info.model,
        "device": info.device,
        "dtype": info.dtype,
        "fallback": info.fallback,
        "queue_depth": container.queue_depth(),
    }
    return JSONResponse(body, status_code=200 if database else 503)


async def _ready_distributed(container, database: bool, model: str) -> JSONResponse:
    """An API process of the distributed mode: ready when MySQL and the broker answer (workers may come later)."""
    cluster = await run_in_threadpool(container.cluster.status)
    ready = database and cluster["broker"]
    body = {"status": "ready" if ready else "not ready", "mode": "distributed", "database": database, "model": model}
    return JSONResponse(body | cluster, status_code=200 if ready else 503)


@router.get("/metrics")
async def metrics(registry: MetricsDep, container: ContainerDep) -> Response:
    """Prometheus text exposition; the stored images and jobs per status are the last counts MySQL gave."""
    await registry.refresh()
    if container.cluster is not None:  # the broker's queues, read off the event loop
        registry.observe_queues(await run_in_threadpool(container.cluster.queue_depths))
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
