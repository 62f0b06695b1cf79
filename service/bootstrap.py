"""The composition root: everything PixyProxy runs on, built from ``Settings`` in one place.

Entry points (the web app, scripts, tests) call ``bootstrap`` and keep the ``Container`` it returns;
none of them constructs a collaborator itself. Tests pass a ready generator (or a fake) to skip loading.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.exceptions import ImageException
from core.settings import Settings
from data.connection import Pool
from data.images import MySQLImageRepository
from data.init import init_db
from data.jobs import MySQLJobRepository
from data.storage import ContentStore, make_store
from data.variants import VariantRepository, make_variant_store
from data.webhooks import WebhookDeliveryRepository
from service.generation.batching import GenerationWorker
from service.generation.interface import ImageGenerator
from service.generation.pipeline import load_generator
from service.images.params import Limits
from service.images.service import ImageService
from service.images.variants import VariantService
from service.jobs.service import JobService
from service.webhooks.dispatcher import WebhookDispatcher
from service.webhooks.policy import WebhookPolicy

logger = logging.getLogger(__name__)

BatchObserver = Callable[[float, int], None]


@dataclass
class Container:
    settings: Settings
    pool: Pool
    store: ContentStore
    repository: MySQLImageRepository
    generator: ImageGenerator
    worker: GenerationWorker
    images: ImageService
    variants: VariantService | None = None
    jobs: JobService | None = None
    webhooks: WebhookDispatcher | None = None
    # Distributed mode only: the broker's view from this process, and this process's row in ``nodes``.
    cluster: Any = None
    heartbeat: Any = None

    def close(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.stop()
        if self.jobs is not None:
            self.jobs.close()
        if self.webhooks is not None:
            self.webhooks.stop()
        self.worker.stop()
        self.pool.close()


def default_max_batch(settings: Settings, device: str) -> int:
    """4 on the CPU, where batching measured faster (docs/benchmarks.md); 1 on CUDA until measured there."""
    return settings.pixy_max_batch or (4 if device == "cpu" else 1)


def default_max_cost(settings: Settings, device: str) -> float:
    """250 on CUDA: any one image the other limits allow (100 steps at 1536x1536 is 236), not four.

    60 on the CPU, where one unit took about 1.2 s (4 x 100 steps at 1536x1536 ran ~19 minutes):
    about a minute and a quarter of work, which still fits four 512x512 images at 50 steps (52).
    """
    if settings.pixy_max_cost is not None:
        return settings.pixy_max_cost
    return 250.0 if device.startswith("cuda") else 60.0


def storage(settings: Settings) -> tuple[Pool, ContentStore, MySQLImageRepository]:
    """The MySQL pool, the content store over it, and the image repository over both."""
    pool = Pool(settings)
    store = make_store(settings, pool)
    return pool, store, MySQLImageRepository(pool, store)


def generation_worker(
    settings: Settings, generator: ImageGenerator, *, on_batch: BatchObserver | None = None, min_queue: int = 0
) -> GenerationWorker:
    """The batching generation thread; ``min_queue`` keeps room for that many submissions at once."""
    return GenerationWorker(
        generator,
        max_queue=max(settings.pixy_max_queue, min_queue),
        max_batch=default_max_batch(settings, generator.info.device),
        batch_wait_ms=settings.pixy_batch_wait_ms,
        on_batch=on_batch,
    ).start()


def variant_service(settings: Settings, pool: Pool, store: ContentStore) -> VariantService:
    return VariantService(
        VariantRepository(pool, store, make_variant_store(settings, pool)), quality=settings.pixy_variant_quality
    )


def image_service(settings: Settings, repository, worker, info, *, device: str) -> ImageService:
    """The image service over a worker (or a distributed API's stand-in), with the limits for ``device``."""
    return ImageService(
        repository=repository,
        worker=worker,
        info=info,
        limits=Limits.from_settings(settings, max_cost=default_max_cost(settings, device)),
        compress_level=settings.pixy_png_compress_level,
        timeout=settings.pixy_generation_timeout,
    )


def _prepare_database(settings: Settings, repository: MySQLImageRepository) -> None:
    """Create tables and clear interrupted writes; a database that is down now may come back."""
    try:
        init_db(settings)
        orphans = repository.sweep()
    except ImageException as exc:  # the service still starts; requests answer 503 until MySQL is back
        logger.error("database not ready at startup: %s", exc.message)
        return
    if orphans:
        logger.warning("removed %d orphaned content files with no row: %s", len(orphans), orphans[:10])


def _resume_jobs(jobs: JobService) -> None:
    try:
        jobs.recover()
    except ImageException as exc:  # MySQL is down: the jobs wait in their table for the next start
        logger.error("jobs not resumed at startup: %s", exc.message)


def _webhooks(settings: Settings, pool: Pool, jobs: JobService) -> WebhookDispatcher | None:
    """Signed webhooks, when a secret is set: jobs may then name a listed host, and their ends are sent."""
    secret = settings.pixy_webhook_secret.get_secret_value()
    jobs.webhook_policy = WebhookPolicy.from_settings(secret=secret, hosts=settings.pixy_webhook_hosts)
    if not secret:
        return None
    dispatcher = WebhookDispatcher(
        deliveries=WebhookDeliveryRepository(pool),
        policy=jobs.webhook_policy,
        url_of=lambda job_id: (record := jobs.repository.get(job_id)) and record.webhook_url,
        secret=secret,
        timeout=settings.pixy_webhook_timeout,
        retry_base=settings.pixy_webhook_retry_base,
        retry_for=settings.pixy_webhook_retry_for,
    )
    jobs.on_finish.append(dispatcher.job_finished)
    return dispatcher


def bootstrap(
    settings: Settings,
    *,
    generator: ImageGenerator | None = None,
    on_batch: BatchObserver | None = None,
    prepare_database: bool = True,
) -> Container:
    """Build the pool, store, repository, generator, worker and service; ``close()`` releases them.

    With ``PIXY_BROKER_URL`` set this is an API process of the distributed mode: no model, jobs go to
    the broker (``service.distributed.bootstrap``; GPU workers build theirs with ``bootstrap_worker``).
    """
    if settings.distributed:
        from service.distributed.bootstrap import bootstrap_api  # Celery is imported only where it is used

        return bootstrap_api(settings, prepare_database=prepare_database)
    pool, store, repository = storage(settings)
    if prepare_database:
        _prepare_database(settings, repository)
    generator = generator or load_generator(settings)
    worker = generation_worker(settings, generator, on_batch=on_batch)
    images = image_service(settings, repository, worker, generator.info, device=generator.info.device)
    variants = variant_service(settings, pool, store)
    # One runner more than a batch holds, so jobs can fill a micro-batch while one waits to store.
    runners = default_max_batch(settings, generator.info.device) + 1
    jobs = JobService(repository=MySQLJobRepository(pool), images=images, runners=runners)
    webhooks = _webhooks(settings, pool, jobs)
    _resume_jobs(jobs)
    if webhooks is not None:
        webhooks.start(missed=jobs.get)
    return Container(settings, pool, store, repository, generator, worker, images, variants, jobs, webhooks)
