"""How an API process of the distributed mode starts a job: a task on the broker, for a GPU worker to run."""

from __future__ import annotations

import threading

from core.clock import now
from core.exceptions import BrokerUnavailable, GeneratorBusy, RequestAbandoned
from core.models import GenerationParams, ImageDetail
from data.job_leases import JobLeases
from data.jobs import MySQLJobRepository
from service.distributed.dispatch import CeleryDispatch
from service.jobs.intake import Accepted
from service.jobs.views import Announcer, JobViews

LEFT_POLL_S = 0.5


class CeleryLauncher:
    write_row = True  # the worker that takes the task reads the job from its row

    def __init__(
        self,
        *,
        dispatch: CeleryDispatch,
        leases: JobLeases,
        repository: MySQLJobRepository,
        events,
        views: JobViews,
        announcer: Announcer,
        max_waiting: int,
        timeout: float,
    ) -> None:
        """``max_waiting`` synchronous requests may wait here at once (beyond, a 503 as in one process), each
        for at most ``timeout`` seconds."""
        self.dispatch = dispatch
        self.leases = leases
        self.repository = repository
        self.events = events
        self.views = views
        self.announcer = announcer
        self.max_waiting = max_waiting
        self.timeout = timeout
        self._waiting = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def full(self) -> bool:
        with self._lock:
            return self._waiting >= self.max_waiting

    def launch(self, job_id: str, params: GenerationParams, n: int, *, abandoned: threading.Event | None) -> None:
        self._publish(job_id, params.model, waited_on=False)
        if abandoned is not None:  # a streaming client: if it leaves while the job is queued, the job is dropped
            threading.Thread(target=self._drop_if_left, args=(job_id, abandoned), daemon=True).start()

    def _publish(self, job_id: str, model: str, *, waited_on: bool) -> None:
        """To the queue of the job's model (always resolved by now), which only its workers consume."""
        try:
            self.dispatch.enqueue(job_id, model=model, waited_on=waited_on)
        except BrokerUnavailable:
            self.repository.withdraw(job_id)  # the client hears 503: no row may say this job is queued
            raise

    def run(self, accepted: Accepted, *, abandoned: threading.Event | None) -> list[ImageDetail]:
        """Sent to the broker and awaited here while a worker runs it."""
        job_id = accepted.job_id
        if not self._take_slot():
            self.repository.withdraw(job_id)  # refused as if never accepted: its key stays free for the retry
            raise GeneratorBusy()
        try:
            self.events.publish(job_id, "queued", {"position": 0})
            self._publish(job_id, accepted.params.model, waited_on=True)
            return self.views.wait(job_id, abandoned=abandoned, timeout=self.timeout)
        except RequestAbandoned:
            # The client left: a job still queued is dropped (unless its key's retry will ask for it); a running
            # one finishes and is stored.
            if not accepted.keyed:
                self._drop(job_id)
            raise
        finally:
            with self._lock:
                self._waiting -= 1

    def _take_slot(self) -> bool:
        with self._lock:
            if self._waiting >= self.max_waiting:
                return False
            self._waiting += 1
            return True

    def close(self) -> None:
        self._stopping.set()

    def _drop(self, job_id: str) -> None:
        if self.leases.cancel_queued(job_id, at=now()):
            self.announcer.announce(job_id)

    def _drop_if_left(self, job_id: str, abandoned: threading.Event) -> None:
        while not self._stopping.is_set():
            if abandoned.wait(LEFT_POLL_S):
                self._drop(job_id)
                return
            record = self.repository.get(job_id)
            if record is None or record.status != "queued":
                return  # running or over: it finishes and is stored whatever the client does
