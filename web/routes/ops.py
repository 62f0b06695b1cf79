"""Liveness, readiness and metrics for operators."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from core.exceptions import ImageException
from web.deps import ContainerDep, MetricsDep

router = APIRouter(tags=["operations"])


@router.get("/health")
def health() -> dict:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready")
def ready(container: ContainerDep) -> JSONResponse:
    """Readiness: MySQL answers and the model is loaded."""
    try:
        container.images.ping()
        database = True
    except ImageException:
        database = False
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
def metrics(registry: MetricsDep) -> Response:
    """Prometheus text exposition."""
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
