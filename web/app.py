"""The app factory and its lifespan: heavy things are built once, before serving."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from core.settings import Settings, get_settings
from data.connection import close_pools
from data.images import MySQLImageRepository
from data.init import init_db
from data.storage import make_store
from service.errors import translate_errors
from service.images import ImageService
from service.params import Limits
from service.worker import GenerationWorker
from web import errors
from web.metrics import Metrics
from web.request_log import RequestLogMiddleware, log_request
from web.routes import gallery, images, openai, ops
from web.security import require_api_key

logger = logging.getLogger(__name__)


def _prepare_database(settings: Settings, repository: MySQLImageRepository) -> None:
    """Create tables and clear interrupted writes; a database that is down now may come back."""
    try:
        with translate_errors():
            init_db(settings)
            orphans = repository.sweep()
    except Exception as exc:  # the service still starts; requests answer 503 until MySQL is back
        logger.error("database not ready at startup: %s", exc)
        return
    if orphans:
        logger.warning("removed %d orphaned content files with no row: %s", len(orphans), orphans[:10])


def build_generator(settings: Settings):
    from service.generator import load_generator

    return load_generator(settings)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    repository = MySQLImageRepository(settings, make_store(settings))
    _prepare_database(settings, repository)
    generator = app.state.generator or build_generator(settings)
    worker = GenerationWorker(
        generator,
        max_queue=settings.pixy_max_queue,
        max_batch=settings.pixy_max_batch or (4 if generator.info.device == "cpu" else 1),
        batch_wait_ms=settings.pixy_batch_wait_ms,
        on_batch=app.state.metrics.observe_batch,
    ).start()
    app.state.generator = generator
    app.state.worker = worker
    app.state.image_service = ImageService(
        repository=repository,
        worker=worker,
        info=generator.info,
        limits=Limits.from_settings(settings),
        compress_level=settings.pixy_png_compress_level,
        timeout=settings.pixy_generation_timeout,
    )
    app.state.metrics.watch(queue_depth=lambda: worker.queue_depth, images_stored=app.state.image_service.count)
    if not settings.api_keys:
        logger.warning("PIXY_API_KEYS is empty: the API is open to anyone who can reach it")
    try:
        yield
    finally:
        worker.stop()
        close_pools()


def create_app(settings: Settings | None = None, *, generator=None) -> FastAPI:
    """Build the app. Tests pass their own settings, and may pass a ready generator."""
    settings = settings or get_settings()
    app = FastAPI(title="PixyProxy", lifespan=lifespan, dependencies=[Depends(log_request)])
    app.state.settings = settings
    app.state.generator = generator
    app.state.metrics = Metrics()
    errors.install(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE", "HEAD"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "If-None-Match"],
            expose_headers=["X-Request-ID", "X-Total-Count", "Link", "ETag", "Retry-After"],
        )
    app.add_middleware(
        RequestLogMiddleware,
        max_body_bytes=settings.pixy_max_body_bytes,
        on_error=errors.error_app,
        on_finish=app.state.metrics.observe_request,
    )
    protected = [Depends(require_api_key)]
    app.include_router(images.router, dependencies=protected)
    app.include_router(openai.router, dependencies=protected)
    app.include_router(ops.router)
    app.include_router(gallery.router)
    return app
