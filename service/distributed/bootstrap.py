"""The composition roots of the distributed mode: an API process, and a GPU worker."""

from __future__ import annotations

import logging

from core.exceptions import ImageException
from core.settings import Settings
from data.connection import Pool
from data.images import MySQLImageRepository
from data.init import init_db
from data.job_events import JobEventLog
from data.job_leases import JobLeases
from data.jobs import MySQLJobRepository
from data.nodes import NodeRepository
from data.storage import make_store
from data.variants import VariantRepository, make_variant_store
from service.bootstrap import Container, _webhooks, default_max_batch, image_service
from service.distributed.cancel import ApiPreviews
from service.distributed.celery_app import make_celery
from service.distributed.cluster import Cluster, generator_info
from service.distributed.dispatch import CeleryDispatch
from service.distributed.events import SharedJobEvents
from service.distributed.nodes import Heartbeat, identity, lease_s, node_name
from service.distributed.remote import RemoteInfo, RemoteJobs, RemoteQueue
from service.distributed.worker_jobs import WorkerJobs
from service.generated import ImageGenerator
from service.generator import load_generator
from service.variants import VariantService
from service.worker import GenerationWorker

logger = logging.getLogger(__name__)

PURGE_EVERY_BEATS = 12


class _NoGenerator:
    """An API process's stand-in for the generator: what it knows of the model is the workers' word."""

    def __init__(self, info: RemoteInfo) -> None:
        self.info = info


def _database(settings: Settings) -> None:
    try:
        init_db(settings)  # no sweep of the images folder: a worker may be writing into it right now
    except ImageException as exc:
        logger.error("database not ready at startup: %s", exc.message)


def bootstrap_api(settings: Settings, *, prepare_database: bool = True) -> Container:
    pool = Pool(settings)
    store = make_store(settings, pool)
    repository = MySQLImageRepository(pool, store)
    if prepare_database:
        _database(settings)
    dispatch, nodes = CeleryDispatch(make_celery(settings)), NodeRepository(pool)
    info, queue = RemoteInfo(nodes), RemoteQueue(dispatch)
    # The workers' device is not known here: the cost ceiling is the CUDA one unless PIXY_MAX_COST says.
    images = image_service(settings, repository, queue, info, device="cuda")
    variants = VariantService(
        VariantRepository(pool, store, make_variant_store(settings, pool)), quality=settings.pixy_variant_quality
    )
    jobs = RemoteJobs(dispatch=dispatch, leases=JobLeases(pool), repository=MySQLJobRepository(pool), images=images)
    jobs.events = SharedJobEvents(JobEventLog(pool))
    jobs.previews = ApiPreviews(jobs.leases)
    webhooks = _webhooks(settings, pool, jobs)
    me = identity(settings, name=node_name(settings, "api"), role="api")
    heartbeat = _heartbeat(nodes, me, settings, chores=[])
    if webhooks is not None:
        webhooks.start(missed=jobs.get)
    cluster = Cluster(dispatch, queue, nodes, within_s=lease_s(settings))
    generator = _NoGenerator(info)
    return Container(
        settings, pool, store, repository, generator, queue, images, variants, jobs, webhooks, cluster, heartbeat
    )


def bootstrap_worker(
    settings: Settings, *, generator: ImageGenerator | None = None, name: str | None = None
) -> Container:
    """A GPU worker: the model loaded once (no tiny fallback: a worker without its model must not start)."""
    settings = settings.model_copy(update={"pixy_strict_model": True})
    pool = Pool(settings)
    store = make_store(settings, pool)
    repository = MySQLImageRepository(pool, store)
    _database(settings)
    generator = generator or load_generator(settings)
    max_batch = default_max_batch(settings, generator.info.device)
    worker = GenerationWorker(
        generator,
        max_queue=max(settings.pixy_max_queue, max_batch),
        max_batch=max_batch,
        batch_wait_ms=settings.pixy_batch_wait_ms,
    ).start()
    images = image_service(settings, repository, worker, generator.info, device=generator.info.device)
    name = name or node_name(settings, "worker")
    jobs = WorkerJobs(
        leases=JobLeases(pool),
        name=name,
        lease_s=lease_s(settings),
        repository=MySQLJobRepository(pool),
        images=images,
    )
    jobs.events = events = SharedJobEvents(JobEventLog(pool))
    webhooks = _webhooks(settings, pool, jobs)
    me = identity(settings, name=name, role="worker", info={"generator": generator_info(generator.info)})
    beats = iter(range(10**12))
    chores = [jobs.heartbeat, lambda: next(beats) % PURGE_EVERY_BEATS == 0 and events.purge()]
    heartbeat = _heartbeat(NodeRepository(pool), me, settings, chores=chores)
    if webhooks is not None:
        webhooks.start(missed=jobs.get)
    container = Container(settings, pool, store, repository, generator, worker, images, None, jobs, webhooks)
    container.heartbeat = heartbeat
    return container


def _heartbeat(nodes: NodeRepository, me, settings: Settings, *, chores) -> Heartbeat:
    return Heartbeat(nodes, me, every=settings.pixy_heartbeat_s, chores=chores).start()
