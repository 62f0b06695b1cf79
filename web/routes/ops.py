"""Liveness, readiness and metrics for operators."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from core.exceptions import ImageException

router = APIRouter(tags=["operations"])


@router.get("/health")
def health() -> dict:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready")
def ready(request: Request) -> JSONResponse:
    """Readiness: MySQL answers and the model is loaded."""
    state = request.app.state
    try:
        state.image_service.ping()
        database = True
    except ImageException:
        database = False
    info = state.generator.info
    body = {
        "status": "ready" if database else "not ready",
        "database": database,
        "model": info.model,
        "device": info.device,
        "dtype": info.dtype,
        "fallback": info.fallback,
        "queue_depth": state.worker.queue_depth,
    }
    return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
