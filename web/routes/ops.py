"""Liveness, readiness and metrics for operators."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from web.deps import ContainerDep, MetricsDep, SettingsDep
from web.security import holds_key

router = APIRouter(tags=["operations"])


# These three are async: they must answer while every worker thread waits on a stuck database.
@router.get("/health")
async def health() -> dict:
    """Liveness: the process answers; it touches neither the database nor the thread pool."""
    return {"status": "ok"}


# What only a key holder sees: how the deployment is built and how busy it is.
DETAILS = ("device", "dtype", "queue_depth", "worker_nodes", "models", "queues")


@router.get("/ready")
async def ready(request: Request, container: ContainerDep, registry: MetricsDep, settings: SettingsDep) -> JSONResponse:
    """Readiness: MySQL answers within PIXY_READY_TIMEOUT and the model is loaded.

    It answers without a key (load balancers probe it); with keys set, the devices, worker names and queue
    depths only to a key holder."""
    database = await registry.database_answers(settings.pixy_ready_timeout)
    if container.cluster is not None:
        body = await _ready_distributed(container, database, settings.pixy_model)
    else:
        body = _ready_here(container, database)
    status_code = 200 if body["status"] == "ready" else 503
    if not holds_key(request.headers, settings):
        body = {key: value for key, value in body.items() if key not in DETAILS}
    return JSONResponse(body, status_code=status_code)


def _ready_here(container, database: bool) -> dict:
    info = container.generator.info
    return {
        "status": "ready" if database else "not ready",
        "database": database,
        "model": info.model,
        "device": info.device,
        "dtype": info.dtype,
        "fallback": info.fallback,
        "queue_depth": container.queue_depth(),
    }


async def _ready_distributed(container, database: bool, model: str) -> dict:
    """An API process of the distributed mode: ready when MySQL and the broker answer (workers may come later)."""
    cluster = await run_in_threadpool(container.cluster.status)
    ready = database and cluster["broker"]
    body = {"status": "ready" if ready else "not ready", "mode": "distributed", "database": database, "model": model}
    return body | cluster


@router.get("/metrics")
async def metrics(registry: MetricsDep, container: ContainerDep) -> Response:
    """Prometheus text exposition; the stored images and jobs per status are the last counts MySQL gave."""
    await registry.refresh()
    if container.cluster is not None:  # the broker's queues, read off the event loop
        registry.observe_queues(await run_in_threadpool(container.cluster.queue_depths))
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
