"""The API side of the broker: send a job's task, count what waits, and tell whether the broker answers."""

from __future__ import annotations

import logging

from celery import Celery

from core.exceptions import BrokerUnavailable
from service.distributed.celery_app import RUN_JOB, model_queues, queue_name

logger = logging.getLogger(__name__)


class CeleryDispatch:
    def __init__(self, app: Celery) -> None:
        self.app = app

    def enqueue(self, job_id: str, *, model: str, waited_on: bool = False) -> None:
        """Send the task to ``model``'s queue; the task carries only the job id, the worker reads the rest from MySQL.

        ``waited_on``: a synchronous request waits for it, so it goes to the model's queue of its own."""
        try:
            self.app.send_task(RUN_JOB, args=[job_id], queue=queue_name(model, waited_on=waited_on), retry=False)
        except Exception as exc:  # kombu's OperationalError, a refused or reset socket, a timeout
            logger.warning("job %s not queued, broker unavailable: %s", job_id, exc)
            raise BrokerUnavailable() from exc

    def queue_depths(self, models: list[str]) -> dict[str, int | None]:
        """Tasks waiting in each of the ``models``' queues (not those a worker holds); None when the broker does
        not answer."""
        queues = model_queues(models)
        try:
            with self.app.connection_for_read() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
                return {name: self._depth(conn, name) for name in queues}
        except Exception:
            return dict.fromkeys(queues)

    @staticmethod
    def _depth(conn, name: str) -> int | None:
        try:
            return int(conn.default_channel.queue_declare(queue=name, passive=True).message_count)
        except Exception:  # a queue never declared yet reads as absent on AMQP
            return None

    def reachable(self, timeout: float = 2.0) -> bool:
        try:
            with self.app.connection_for_read() as conn:
                conn.ensure_connection(max_retries=1, timeout=timeout)
            return True
        except Exception:
            return False
