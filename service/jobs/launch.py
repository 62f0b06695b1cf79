"""How an accepted job is started: run here, on a pool of runner threads (the one-process mode).

The distributed mode passes ``service.distributed.celery_launch.CeleryLauncher`` instead: the same
``Launcher`` shape, handing jobs to GPU workers through the broker.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from core.clock import now
from core.models import GenerationParams, ImageDetail
from service.generation.batching import BatchQueue
from service.jobs.intake import Accepted
from service.jobs.runner import JobRunner
from service.jobs.state import Live, WhileQueued

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 2  # a job that was running when its process died runs once more, then fails


class Launcher(Protocol):
    write_row: bool  # whether a synchronous job's row must be written before it runs

    def full(self) -> bool:
        """Whether a synchronous request would now be refused as busy."""
        ...

    def launch(self, job_id: str, params: GenerationParams, n: int, *, abandoned: threading.Event | None) -> None:
        """Start a job whose row is written; ``abandoned`` set while it is queued (a streaming client left)
        drops it."""
        ...

    def run(self, accepted: Accepted, *, abandoned: threading.Event | None) -> list[ImageDetail]:
        """Run a synchronous job and answer with its images."""
        ...

    def close(self) -> None: ...


class LocalLauncher:
    write_row = False  # a synchronous job runs here: no one else needs its row before it ends

    def __init__(self, *, runner: JobRunner, queue: BatchQueue, events, runners: int) -> None:
        self.runner = runner
        self.queue = queue
        self.events = events
        self._executor = ThreadPoolExecutor(max_workers=runners, thread_name_prefix="job")

    def full(self) -> bool:
        return self.queue.full

    def launch(self, job_id: str, params: GenerationParams, n: int, *, abandoned: threading.Event | None) -> None:
        live = self.runner.live.add(job_id, Live(n=n, steps=params.steps))
        options = {"abandoned": WhileQueued(abandoned, live)} if abandoned is not None else {}
        self._executor.submit(self.runner.run, job_id, params, n, live, **options)

    def run(self, accepted: Accepted, *, abandoned: threading.Event | None) -> list[ImageDetail]:
        """On the calling thread. If the client leaves while the job is queued it is dropped; once it runs,
        it finishes and is stored."""
        job_id, params, n = accepted.job_id, accepted.params, accepted.n
        live = Live(n=n, steps=params.steps, persisted=accepted.persisted, created_at=now())
        self.runner.live.add(job_id, live)
        if live.persisted:  # without a key no stream can know this job's id: its events would go unheard
            self.events.publish(job_id, "queued", {"position": 0})
        gone = None if accepted.keyed else abandoned
        outcome = self.runner.run(job_id, params, n, live, abandoned=WhileQueued(gone, live), retry_busy=False)
        if outcome.error is not None:
            raise outcome.error
        return outcome.details

    def recover(self) -> None:
        """After a restart: queued jobs run; a job that was running runs once more, or fails."""
        repository = self.runner.repository
        for record in repository.unfinished():
            if record.status == "running" and record.attempts >= MAX_ATTEMPTS:
                detail = "the service stopped while this job ran, twice; it was not run again"
                repository.finish(record.id, status="failed", at=now(), error=detail)
                continue
            if record.status == "running":
                repository.requeue(record.id)
            logger.info("resuming job %s (%s before the restart)", record.id, record.status)
            self.launch(record.id, record.params, record.n, abandoned=None)
            self.events.publish(record.id, "queued", {"position": 0})

    def close(self) -> None:
        self.runner.stop()
        self._executor.shutdown(wait=False, cancel_futures=True)
