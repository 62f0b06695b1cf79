"""The Celery app both sides share: API processes send ``run_job`` tasks, GPU workers take them.

Each model has two queues: ``pixy.<model>`` for ``POST /jobs`` and ``pixy-now.<model>`` for synchronous requests.
A job's task goes to its model's queues, and a worker consumes only those of the models it serves, so a job never
reaches a worker that cannot run it.
"""

from __future__ import annotations

import hashlib
import string

from celery import Celery
from kombu import Queue

from core.settings import Settings

QUEUE = "pixy"
# Synchronous requests' jobs: a queue of their own, which workers take from in turn with the jobs queue, so a
# request someone waits on never waits behind the whole backlog of POST /jobs.
QUEUE_NOW = "pixy-now"
RUN_JOB = "pixy.run_job"
_PLAIN = frozenset(string.ascii_letters + string.digits + "-_")
_LONGEST = 200  # AMQP allows 255 bytes a queue name


def queue_name(model: str, *, waited_on: bool = False) -> str:
    """``pixy.<model>`` or ``pixy-now.<model>``: letters, digits, ``-`` and ``_`` kept, every other byte as
    ``%XX`` (so ``stabilityai/sd-turbo`` is ``pixy.stabilityai%2Fsd-turbo``), one id to one name, any broker."""
    encoded = "".join(chr(b) if chr(b) in _PLAIN else f"%{b:02X}" for b in model.encode("utf-8"))
    if len(encoded) > _LONGEST:  # still one name per id: the cut is told apart by the whole id's digest
        encoded = encoded[: _LONGEST - 17] + "~" + hashlib.sha256(model.encode("utf-8")).hexdigest()[:16]
    return f"{QUEUE_NOW if waited_on else QUEUE}.{encoded}"


def model_queues(models: list[str]) -> list[str]:
    """Both queues of each model, in the order a worker takes from them."""
    return [queue_name(model, waited_on=now) for model in models for now in (False, True)]


def make_celery(settings: Settings, *, models: list[str] = ()) -> Celery:
    """Late acknowledgement, one task per slot, and a Redis visibility timeout that returns a dead worker's task.

    ``models``: a worker's, whose queues it consumes (an API process names the queue of each task it sends)."""
    app = Celery("pixyproxy", broker=settings.pixy_broker_url.strip(), set_as_current=False)
    app.conf.update(
        task_queues=tuple(Queue(name) for name in model_queues(list(models))),
        task_create_missing_queues=True,
        task_ignore_result=True,
        # A task is acknowledged when it ends, and given back if its worker dies: a kill -9 loses no job.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # One task per slot: a busy box does not hoard tasks another box could run.
        worker_prefetch_multiplier=1,
        # The generator is one per process; tasks are threads that feed its batching worker.
        worker_pool="threads",
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        # A publish that cannot reach the broker fails at once: the client gets a 503, not a hung request.
        task_publish_retry=False,
        broker_connection_timeout=3,
        broker_connection_retry_on_startup=True,
        broker_transport_options=redis_options(settings.pixy_redis_visibility_timeout),
    )
    return app


def redis_options(visibility_timeout: int) -> dict:
    """Redis: a task unacknowledged for ``visibility_timeout`` goes back to the queue at the next sweep.

    Kombu sweeps every ``unacked_restore_interval`` x ``unacked_restore_throttle`` seconds (10 x 10 by
    default): without these two, a dead worker's task would wait up to 100 s more than the timeout.
    """
    return {
        "visibility_timeout": visibility_timeout,
        "unacked_restore_interval": max(1, min(10, visibility_timeout // 4)),
        "unacked_restore_throttle": 1,
    }
