"""The parts every composition root assembles (``service.bootstrap`` for one process, and
``service.distributed.bootstrap`` for API processes and GPU workers), and the ``Container`` they return."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.exceptions import ImageException
from core.jobs import Job
from core.settings import Settings
from data.connection import Pool
from data.images import MySQLImageRepository
from data.init import init_db
from data.job_inputs import JobInputRepository
from data.jobs import MySQLJobRepository
from data.storage import ContentStore, make_store
from data.variants import VariantRepository, make_variant_store
from data.webhooks import WebhookDeliveryRepository
from service.edits.sources import EditInputs
from service.generation.batching import BatchQueue
from service.generation.interface import ImageGenerator
from service.generation.models import Models
from service.images.generation import ImageGeneration
from service.images.params import Limits
from service.images.png_encoders import choose_encoder
from service.images.resolver import Resolver
from service.images.service import ImageService
from service.images.variants import VariantService
from service.jobs.intake import JobIntake
from service.jobs.launch import Launcher
from service.jobs.retention import Retention
from service.jobs.runner import JobRunner
from service.jobs.service import JobService
from service.jobs.state import LiveJobs
from service.jobs.views import Announcer, JobViews
from service.webhooks.dispatcher import WebhookDispatcher
from service.webhooks.policy import WebhookPolicy

if TYPE_CHECKING:
    from service.distributed.cluster import Cluster
    from service.distributed.execution import TaskExecution
    from service.distributed.nodes import Heartbeat

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Observers:
    """What an entry point wants to hear (its metrics); each optional."""

    on_batch: Callable[[float, int], None] | None = None  # (seconds, images) per generator call
    on_job: Callable[[Job], None] | None = None  # each finished job
    on_webhook: Callable[[str], None] | None = None  # "delivered", "retried" or "failed" per attempt


@dataclass
class Container:
    settings: Settings
    pool: Pool
    store: ContentStore
    repository: MySQLImageRepository
    images: ImageService
    variants: VariantService | None = None
    jobs: JobService | None = None  # where jobs are accepted: one process, or an API process
    webhooks: WebhookDispatcher | None = None
    generator: ImageGenerator | None = None  # where a model runs: one process, or a GPU worker (the default)
    models: Models | None = None  # every model it serves, the default's generator among them
    queue: BatchQueue | None = None
    cluster: Cluster | None = None  # an API process of the distributed mode: the broker and workers
    heartbeat: Heartbeat | None = None  # a process of the distributed mode: its row in ``nodes``
    execution: TaskExecution | None = None  # a GPU worker: how its tasks run their jobs
    retention: Retention | None = None  # the one-process service's pruning thread

    def list_models(self) -> list[dict]:
        """What ``GET /models`` answers: the models served here, or by the live workers."""
        if self.models is not None:
            return self.models.describe()
        return self.cluster.models() if self.cluster is not None else []

    def queue_depth(self) -> int:
        if self.queue is not None:
            return self.queue.queue_depth
        return self.cluster.queue_depth if self.cluster is not None else 0

    def close(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.stop()
        if self.jobs is not None:
            self.jobs.close()
        if self.execution is not None:
            self.execution.close()
        if self.webhooks is not None:
            self.webhooks.stop()
        if self.retention is not None:
            self.retention.stop()
        if self.queue is not None:
            self.queue.stop()
        self.pool.close()


@dataclass(frozen=True)
class JobParts:
    """What every process that accepts or runs jobs holds alike; only ``events`` and progress differ by mode."""

    repository: MySQLJobRepository
    events: object
    views: JobViews
    announcer: Announcer
    inputs: EditInputs
    webhook_policy: WebhookPolicy
    webhooks: WebhookDispatcher | None


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


def ready_database(settings: Settings, *, sweep: MySQLImageRepository | None = None) -> None:
    """Create tables, and with ``sweep`` clear interrupted writes; a database that is down now may come back.

    No sweep in the distributed mode: another process may be writing into the images folder right now."""
    try:
        init_db(settings)
        orphans = sweep.sweep() if sweep is not None else []
    except ImageException as exc:  # the service still starts; requests answer 503 until MySQL is back
        logger.error("database not ready at startup: %s", exc.message)
        return
    if orphans:
        logger.warning("removed %d orphaned content files with no row: %s", len(orphans), orphans[:10])


def batch_queue(
    settings: Settings, generator: ImageGenerator, *, on_batch: Callable | None = None, min_queue: int = 0
) -> BatchQueue:
    """The batching generation thread; ``min_queue`` keeps room for that many submissions at once."""
    return BatchQueue(
        generator,
        max_queue=max(settings.pixy_max_queue, min_queue),
        max_batch=default_max_batch(settings, generator.info.device),
        batch_wait_ms=settings.pixy_batch_wait_ms,
        on_batch=on_batch,
        switch_after=settings.pixy_model_switch_after,
    ).start()


def serving_models(settings: Settings, default: ImageGenerator) -> Models:
    """``default`` (loaded) and the other models of ``PIXY_MODELS``, described now and loaded on first use."""
    from service.generation.pipeline import load_model, model_entries  # diffusers only once a model loads

    return Models(
        default,
        model_entries(settings),
        load=lambda entry: load_model(entry, settings),
        max_loaded=settings.pixy_max_loaded_models,
        park=settings.pixy_park_evicted_models,
    )


def image_generation(
    settings: Settings, queue: BatchQueue, repository: MySQLImageRepository, generator: ImageGenerator
) -> ImageGeneration:
    return ImageGeneration(
        queue=queue,
        repository=repository,
        info=generator.info,
        encoder=choose_encoder(settings.pixy_png_compress_level),
        timeout=settings.pixy_generation_timeout,
    )


def resolver(settings: Settings, images: ImageService, model: Callable, *, device: str) -> Resolver:
    """Requests resolved against ``model()``'s defaults, within the limits for ``device``."""
    limits = Limits.from_settings(settings, max_cost=default_max_cost(settings, device))
    return Resolver(model=model, limits=limits, images=images)


def variant_service(settings: Settings, pool: Pool, store: ContentStore) -> VariantService:
    return VariantService(
        VariantRepository(pool, store, make_variant_store(settings, pool)),
        quality=settings.pixy_variant_quality,
        widths=settings.variant_widths,
    )


def job_parts(
    settings: Settings,
    pool: Pool,
    images: ImageService,
    *,
    events,
    progress: Callable[[str], dict | None],
    observers: Observers,
) -> JobParts:
    """The job repository, views, announcer, uploads store and webhooks (signed, when a secret is set: jobs
    may then name a listed host, and their ends are sent)."""
    repository = MySQLJobRepository(pool)
    views = JobViews(repository=repository, images=images, events=events, progress=progress)
    secret = settings.pixy_webhook_secret.get_secret_value()
    policy = WebhookPolicy.from_settings(secret=secret, hosts=settings.pixy_webhook_hosts)
    dispatcher = None
    if secret:
        dispatcher = WebhookDispatcher(
            deliveries=WebhookDeliveryRepository(pool),
            policy=policy,
            url_of=lambda job_id: (record := repository.get(job_id)) and record.webhook_url,
            secret=secret,
            timeout=settings.pixy_webhook_timeout,
            retry_base=settings.pixy_webhook_retry_base,
            retry_for=settings.pixy_webhook_retry_for,
            on_outcome=[observers.on_webhook] if observers.on_webhook else [],
        )
    listeners = [dispatcher.job_finished] if dispatcher is not None else []
    listeners += [observers.on_job] if observers.on_job else []
    announcer = Announcer(events=events, views=views, listeners=listeners)
    inputs = EditInputs(JobInputRepository(pool), lambda guid: images.content(guid).read())
    return JobParts(repository, events, views, announcer, inputs, policy, dispatcher)


def job_runner(
    parts: JobParts, generation: ImageGeneration, live: LiveJobs, *, previews_wanted: Callable[[str], bool]
) -> JobRunner:
    return JobRunner(
        repository=parts.repository,
        generation=generation,
        events=parts.events,
        previews_wanted=previews_wanted,
        inputs=parts.inputs,
        announcer=parts.announcer,
        live=live,
    )


def job_service(
    parts: JobParts, resolver: Resolver, launcher: Launcher, live: LiveJobs, previews, *, max_queued: int
) -> JobService:
    intake = JobIntake(
        repository=parts.repository,
        resolver=resolver,
        inputs=parts.inputs,
        webhook_policy=parts.webhook_policy,
        full=launcher.full,
        max_queued=max_queued,
    )
    return JobService(
        repository=parts.repository,
        intake=intake,
        launcher=launcher,
        views=parts.views,
        announcer=parts.announcer,
        live=live,
        events=parts.events,
        previews=previews,
    )


def retention(settings: Settings, pool: Pool, parts: JobParts) -> Retention:
    return Retention(
        jobs=parts.repository,
        deliveries=WebhookDeliveryRepository(pool),
        job_days=settings.pixy_job_retention_days,
        delivery_days=settings.pixy_delivery_retention_days,
    )


def start_webhooks(parts: JobParts) -> None:
    """Start sending, once everything is built: deliveries missed at the last stop are recorded first."""
    if parts.webhooks is not None:
        parts.webhooks.start(missed=parts.views.get)
