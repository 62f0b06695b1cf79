"""The app factory and its lifespan: the composition root builds everything once, before serving."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from core.settings import Settings, get_settings
from service.assembly import Observers
from service.bootstrap import bootstrap
from service.generation.interface import ImageGenerator
from web import errors, mcp_server
from web.body_limit import BodyLimitMiddleware
from web.disconnect import generation_threads
from web.metrics import Metrics
from web.request_log import RequestLogMiddleware, record_route
from web.routes import gallery, images, job_events, jobs, models, openai, openai_edits, ops
from web.security import ApiKeyMiddleware

logger = logging.getLogger(__name__)


def _lifespan(generator: ImageGenerator | None) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings, metrics = app.state.settings, app.state.metrics
        observers = Observers(
            on_batch=metrics.observe_batch, on_job=metrics.observe_job, on_webhook=metrics.observe_webhook
        )
        container = bootstrap(settings, generator=generator, observers=observers)
        app.state.container = container
        app.state.generation_threads = generation_threads(settings.pixy_max_queue)
        metrics.watch(
            queue_depth=container.queue_depth,
            images_stored=container.images.count,
            ping=container.images.ping,
            jobs_stored=container.jobs.totals,
        )
        if not settings.api_keys:
            logger.warning("PIXY_API_KEYS is empty: the API is open to anyone who can reach it")
        try:
            async with mcp_server.running(app):
                yield
        finally:
            metrics.close()
            container.close()

    return lifespan


def create_app(settings: Settings | None = None, *, generator: ImageGenerator | None = None) -> FastAPI:
    """Build the app. Tests pass their own settings, and may pass a ready generator."""
    settings = settings or get_settings()
    # No slash redirects: their absolute Location would echo the client's Host (both /image forms are routed).
    app = FastAPI(
        title="PixyProxy",
        lifespan=_lifespan(generator),
        dependencies=[Depends(record_route)],
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    errors.install(app)
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=settings.pixy_max_body_bytes,
        body_timeout=settings.pixy_body_timeout,
        per_path=openai_edits.upload_caps(settings),
    )
    # Outside the body cap, so a client without a key is refused before its body is read; inside CORS,
    # so a browser can read the 401.
    app.add_middleware(ApiKeyMiddleware, settings=settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE", "HEAD"],
            allow_headers=[
                "Authorization",
                "X-API-Key",
                "Content-Type",
                "If-None-Match",
                "Idempotency-Key",
                "Last-Event-ID",
            ],
            expose_headers=["X-Request-ID", "X-Total-Count", "Link", "ETag", "Retry-After", "Location"],
        )
    # Outermost, so requests refused before routing (404, 405, 413) are logged and answered in JSON too.
    app.add_middleware(RequestLogMiddleware, on_error=errors.error_app, on_finish=app.state.metrics.observe_request)
    app.include_router(images.router)
    app.include_router(openai.router)
    app.include_router(openai_edits.router)
    app.include_router(jobs.router)
    app.include_router(job_events.router)
    app.include_router(ops.router)
    app.include_router(models.router)
    app.include_router(gallery.router)
    mcp_server.mount(app)
    return app
