"""The composition roots of the distributed mode: an API process, and a GPU worker."""

from __future__ import annotations

import itertools
import logging

from core.exceptions import ImageException
from core.settings import Settings
from data.init import init_db
from data.job_events import JobEventLog
from data.job_leases import JobLeases
from data.jobs import MySQLJobRepository
from data.nodes import NodeRepository
from service.bootstrap import (
    Container,
    _webhooks,
    default_max_batch,
    generation_worker,
    image_service,
    storage,
    variant_service,
)
from service.distributed.celery_app import make_celery
from service.distributed.cluster import Cluster, generator_info
from service.distributed.dispatch import CeleryDispatch
from service.distributed.execution import WorkerJobs
from service.distributed.nodes import Heartbeat, identity, lease_s, node_name
from service.distributed.remote import RemoteInfo, RemoteJobs, RemoteQueue
from service.distributed.row_watch import ApiPreviews
from service.distributed.shared_events import SharedJobEvents
from service.generation.interface import ImageGenerator
from service.generation.pipeline import load_generator

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
    pool, store, repository = storage(settings)
    if prepare_database:
        _database(settings)
    dispatch, nodes = CeleryDispatch(make_celery(settings)), NodeRepository(pool)
    info, queue = RemoteInfo(nodes), RemoteQueue(dispatch)
    # The workers' device is not known here: the cost ceiling is the CUDA one unless PIXY_MAX_COST says.
    images = image_service(settings, repository, queue, info, device="cuda")
    variants = variant_service(settings, pool, store)
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
    settings: Settings,
    *,
    generator: ImageGenerator | None = None,
    name: str | None = None,
    prepare_database: bool = True,
) -> Container:
    """A GPU worker: the model loaded once (no tiny fallback: a worker without its model must not start)."""
    settings = settings.model_copy(update={"pixy_strict_model": True})
    pool, store, repository = storage(settings)
    if prepare_database:
        _database(settings)
    generator = generator or load_generator(settings)
    # Its Celery slots (one per batch member) submit at once: the queue must hold them all.
    worker = generation_worker(settings, generator, min_queue=default_max_batch(settings, generator.info.device))
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
    beats = itertools.count()

    def purge_now_and_then() -> None:
        if next(beats) % PURGE_EVERY_BEATS == 0:
            events.purge()

    heartbeat = _heartbeat(NodeRepository(pool), me, settings, chores=[jobs.heartbeat, purge_now_and_then])
    if webhooks is not None:
        webhooks.start(missed=jobs.get)
    container = Container(settings, pool, store, repository, generator, worker, images, None, jobs, webhooks)
    container.heartbeat = heartbeat
    return container


def _heartbeat(nodes: NodeRepository, me, settings: Settings, *, chores) -> Heartbeat:
    return Heartbeat(nodes, me, every=settings.pixy_heartbeat_s, chores=chores).start()
