"""Liveness, readiness and metrics for operators."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["operations"])


@router.get("/health")
def health() -> dict:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready")
def ready(request: Request) -> JSONResponse:
    """Readiness: MySQL answers and the model is loaded."""
    state = request.app.state
    generator = getattr(state, "generator", None)
    try:
        state.image_service.ping()
        database = True
    except Exception:
        database = False
    info = generator.info if generator is not None else None
    body = {
        "status": "ready" if database and info else "not ready",
        "database": database,
        "model": info.model if info else None,
        "device": info.device if info else None,
        "dtype": info.dtype if info else None,
        "fallback": info.fallback if info else None,
        "queue_depth": state.worker.queue_depth if hasattr(state, "worker") else None,
    }
    return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
