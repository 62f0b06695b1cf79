"""The composition roots of the distributed mode: an API process, and a GPU worker."""

from __future__ import annotations

import itertools

from core.exceptions import ModelNotReady
from core.model_ids import model_id
from core.settings import Settings
from data.chores import ChoreLeases
from data.job_events import JobEventLog
from data.job_leases import JobLeases
from data.nodes import Node, NodeRepository
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
from service.distributed.celery_app import make_celery
from service.distributed.celery_launch import CeleryLauncher
from service.distributed.cluster import Cluster
from service.distributed.dispatch import CeleryDispatch
from service.distributed.execution import TaskExecution
from service.distributed.nodes import Heartbeat, RegisteredModels, generator_info, identity, lease_s, node_name
from service.distributed.recovery import StrandedJobs
from service.distributed.row_watch import ApiPreviews, CancelWatch
from service.distributed.shared_events import SharedJobEvents
from service.generation.interface import ImageGenerator
from service.generation.pipeline import load_generator
from service.images.service import ImageService
from service.jobs.state import LiveJobs

PURGE_EVERY_BEATS = 12


def bootstrap_api(
    settings: Settings, *, observers: Observers = Observers(), prepare_database: bool = True
) -> Container:
    """An API process: no model; jobs go to their model's queue on the broker, and what it knows of each model is
    the word of the live workers that serve it."""
    pool, store, repository = storage(settings)
    if prepare_database:
        ready_database(settings)
    dispatch, nodes, leases = CeleryDispatch(make_celery(settings)), NodeRepository(pool), JobLeases(pool)
    images = ImageService(repository)
    events = SharedJobEvents(JobEventLog(pool))
    parts = job_parts(settings, pool, images, events=events, progress=events.latest_progress, observers=observers)
    launcher = CeleryLauncher(
        dispatch=dispatch,
        leases=leases,
        repository=parts.repository,
        events=events,
        views=parts.views,
        announcer=parts.announcer,
        max_waiting=max(settings.pixy_max_queue, 1),
        timeout=settings.pixy_generation_timeout,
    )
    # The workers' device is not known here: the cost ceiling is the CUDA one unless PIXY_MAX_COST says.
    default = model_id(settings.pixy_model)
    models = RegisteredModels(nodes, default=default, within_s=lease_s(settings))
    # No job runs in an API process: its registry of running jobs stays empty, and a cancel goes by the row.
    requests = resolver(settings, images, models.current, device="cuda")
    jobs = job_service(
        parts, requests, launcher, LiveJobs(), ApiPreviews(leases), max_queued=settings.pixy_max_queued_jobs
    )
    me = identity(settings, name=node_name(settings, "api"), role="api")
    stranded = StrandedJobs(
        repository=parts.repository,
        chores=ChoreLeases(pool),
        dispatch=dispatch,
        holder=me.name,
        default_model=default,
        stranded_after_s=settings.pixy_stranded_after_s,
        lease_s=lease_s(settings),
        every_s=settings.pixy_heartbeat_s,
    )
    chores = ChoreLeases(pool)
    pruning = retention(settings, pool, parts)
    heartbeat = _heartbeat(
        nodes, me, settings, chores=[stranded.sweep, lambda: pruning.now_and_then(chores=chores, holder=me.name)]
    )
    start_webhooks(parts)
    return Container(
        settings,
        pool,
        store,
        repository,
        images,
        variants=variant_service(settings, pool, store),
        jobs=jobs,
        webhooks=parts.webhooks,
        cluster=Cluster(dispatch, nodes, default=default, within_s=lease_s(settings)),
        heartbeat=heartbeat,
    )


def bootstrap_worker(
    settings: Settings,
    *,
    generator: ImageGenerator | None = None,
    name: str | None = None,
    prepare_database: bool = True,
    observers: Observers = Observers(),
) -> Container:
    """A GPU worker: PIXY_MODEL loaded once, the others of PIXY_MODELS on first use (no tiny fallback, and no
    missing weights: a worker without one of its models must not start, for it consumes that model's queues)."""
    settings = settings.model_copy(update={"pixy_strict_model": True})
    pool, store, repository = storage(settings)
    if prepare_database:
        ready_database(settings)
    generator = generator or load_generator(settings)
    models = serving_models(settings, generator)
    if missing := [entry for entry in models.describe() if not entry["available"]]:
        pool.close()
        raise ModelNotReady("; ".join(f"model {entry['id']!r}: {entry['reason']}" for entry in missing))
    # Its Celery slots (one per batch member) submit at once: the queue must hold them all.
    queue = batch_queue(
        settings,
        models,
        on_batch=observers.on_batch,
        min_queue=default_max_batch(settings, generator.info.device),
    )
    images = ImageService(repository)
    leases, live = JobLeases(pool), LiveJobs()
    events = SharedJobEvents(JobEventLog(pool))
    parts = job_parts(settings, pool, images, events=events, progress=live.progress, observers=observers)
    cancels = CancelWatch(leases)
    runner = job_runner(
        parts, image_generation(settings, queue, repository, models), live, previews_wanted=cancels.previews_wanted
    )
    name = name or node_name(settings, "worker")
    execution = TaskExecution(
        leases=leases,
        repository=parts.repository,
        runner=runner,
        cancels=cancels,
        events=events,
        announcer=parts.announcer,
        name=name,
        lease_s=lease_s(settings),
    )
    served = [generator_info(models.info_of(model)) for model in models.ids]
    info = {"generator": generator_info(generator.info), "models": served}
    me = identity(settings, name=name, role="worker", info=info)
    beats = itertools.count()

    def purge_now_and_then() -> None:
        if next(beats) % PURGE_EVERY_BEATS == 0:
            events.purge()

    heartbeat = _heartbeat(NodeRepository(pool), me, settings, chores=[execution.heartbeat, purge_now_and_then])
    start_webhooks(parts)
    return Container(
        settings,
        pool,
        store,
        repository,
        images,
        webhooks=parts.webhooks,
        generator=generator,
        models=models,
        queue=queue,
        heartbeat=heartbeat,
        execution=execution,
    )


def _heartbeat(nodes: NodeRepository, me: Node, settings: Settings, *, chores) -> Heartbeat:
    return Heartbeat(nodes, me, every=settings.pixy_heartbeat_s, chores=chores).start()
