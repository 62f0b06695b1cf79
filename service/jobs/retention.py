"""Tables that would grow forever, pruned: finished jobs, settled webhook deliveries and expired
Idempotency-Keys, a small batch at a time, off the request path. Images are never pruned.

One process runs it: the one-process service on a thread of its own, or in the distributed mode the API
process holding the ``prune`` chore's lease (at its heartbeat).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from core.clock import now
from core.exceptions import ImageException
from data.chores import ChoreLeases
from data.jobs import MySQLJobRepository
from data.webhooks import WebhookDeliveryRepository
from service.jobs.idempotency import KEY_TTL

logger = logging.getLogger(__name__)

CHORE = "prune"
EVERY_S = 600.0
BATCH = 500
MAX_BATCHES = 20  # per table per run: a large backlog goes over several runs, never one long transaction


class Retention:
    def __init__(
        self,
        *,
        jobs: MySQLJobRepository,
        deliveries: WebhookDeliveryRepository,
        job_days: float,
        delivery_days: float,
        every_s: float = EVERY_S,
    ) -> None:
        self.jobs = jobs
        self.deliveries = deliveries
        self.job_age = timedelta(days=job_days)
        self.delivery_age = timedelta(days=delivery_days)
        self.every_s = every_s
        self._next = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def prune(self) -> dict[str, int]:
        """One run: how many rows of each kind went."""
        at = now()
        pruned = {
            "jobs": _in_batches(lambda: self.jobs.prune_finished(before=at - self.job_age, limit=BATCH)),
            "deliveries": _in_batches(
                lambda: self.deliveries.prune_settled(before=at - self.delivery_age, limit=BATCH)
            ),
            "keys": _in_batches(lambda: self.jobs.purge_keys(expired_before=at - KEY_TTL)),
        }
        if any(pruned.values()):
            logger.info("pruned %s", pruned)
        return pruned

    def now_and_then(self, *, chores: ChoreLeases | None = None, holder: str = "") -> None:
        """A heartbeat chore: a run every ``every_s``, by whichever process holds the chore."""
        if time.monotonic() < self._next:
            return
        self._next = time.monotonic() + self.every_s
        try:
            if chores is None or chores.hold(CHORE, holder=holder, for_s=2 * self.every_s):
                self.prune()
        except ImageException as exc:  # the database is away: the next run tries again
            logger.warning("retention not applied: %s", exc.message)

    def start(self) -> Retention:
        """The one-process service's own thread: a run at start, then every ``every_s``."""
        self._thread = threading.Thread(target=self._loop, name="pixy-retention", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.now_and_then()
            self._stop.wait(self.every_s)


def _in_batches(delete_batch) -> int:
    total = 0
    for _ in range(MAX_BATCHES):
        deleted = delete_batch()
        total += deleted
        if deleted < BATCH:
            break
    return total
