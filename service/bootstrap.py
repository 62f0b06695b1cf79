"""The composition root: everything PixyProxy runs on, built from ``Settings`` in one place.

Entry points (the web app, scripts, tests) call ``bootstrap`` and keep the ``Container`` it returns;
none of them constructs a collaborator itself. Tests pass a ready generator (or a fake) to skip loading.
"""

from __future__ import annotations

import logging

from core.exceptions import ImageException
from core.settings import Settings
from service.assembly import (
    Container,
    Observers,
    batch_queue,
    default_max_batch,
    image_generation,
    job_parts,
    job_runner,
    job_service,
    ready_database,
    resolver,
    retention,
    serving_models,
    start_webhooks,
    storage,
    variant_service,
)
from service.generation.interface import ImageGenerator
from service.generation.pipeline import load_generator
from service.images.service import ImageService
from service.jobs.events import JobEvents
from service.jobs.launch import LocalLauncher
from service.jobs.live_previews import PreviewWatch
from service.jobs.state import LiveJobs

logger = logging.getLogger(__name__)


def bootstrap(
    settings: Settings,
    *,
    generator: ImageGenerator | None = None,
    observers: Observers = Observers(),
    prepare_database: bool = True,
) -> Container:
    """Build the pool, store, repositories, generator, batch queue and services; ``close()`` releases them.

    With ``PIXY_BROKER_URL`` set this is an API process of the distributed mode: no model, jobs go to
    the broker (``service.distributed.bootstrap``; GPU workers build theirs with ``bootstrap_worker``).
    """
    if settings.distributed:
        from service.distributed.bootstrap import bootstrap_api  # Celery is imported only where it is used

        return bootstrap_api(settings, observers=observers, prepare_database=prepare_database)
    pool, store, repository = storage(settings)
    if prepare_database:
        ready_database(settings, sweep=repository)
    generator = generator or load_generator(settings)
    device = generator.info.device
    models = serving_models(settings, generator)
    queue = batch_queue(settings, models, on_batch=observers.on_batch)
    images = ImageService(repository)
    live, previews = LiveJobs(), PreviewWatch()
    parts = job_parts(settings, pool, images, events=JobEvents(), progress=live.progress, observers=observers)
    runner = job_runner(
        parts, image_generation(settings, queue, repository, models), live, previews_wanted=previews.wanted
    )
    # One runner more than a batch holds, so jobs can fill a micro-batch while one waits to store.
    launcher = LocalLauncher(
        runner=runner, queue=queue, events=parts.events, runners=default_max_batch(settings, device) + 1
    )
    requests = resolver(settings, images, models.choose, device=device)
    jobs = job_service(parts, requests, launcher, live, previews, max_queued=settings.pixy_max_queued_jobs)
    try:
        launcher.recover()
    except ImageException as exc:  # MySQL is down: the jobs wait in their table for the next start
        logger.error("jobs not resumed at startup: %s", exc.message)
    start_webhooks(parts)
    pruning = retention(settings, pool, parts).start()
    return Container(
        settings,
        pool,
        store,
        repository,
        images,
        variants=variant_service(settings, pool, store),
        jobs=jobs,
        webhooks=parts.webhooks,
        generator=generator,
        models=models,
        queue=queue,
        retention=pruning,
    )
