"""A GPU worker's side of jobs: run the job a task names, exactly once, however often the task arrives.

A task can arrive twice: late acknowledgement gives a dead worker's task to another, and Redis gives a
task back after its visibility timeout even while it still runs. So the row decides: a worker claims a
queued job atomically and keeps a heartbeat on it; a task for a job that runs elsewhere with a fresh
heartbeat is looked at again later; one whose worker went silent runs once more, then fails.
"""

from __future__ import annotations

import logging

from core.clock import now
from core.jobs import TERMINAL
from data.job_leases import JobLeases
from data.jobs import MySQLJobRepository
from service.distributed.row_watch import CancelWatch
from service.jobs.launch import MAX_ATTEMPTS
from service.jobs.runner import JobRunner
from service.jobs.state import Live
from service.jobs.views import Announcer

logger = logging.getLogger(__name__)

RAN, DONE, LATER, INTERRUPTED = "ran", "done", "later", "interrupted"


class TaskExecution:
    def __init__(
        self,
        *,
        leases: JobLeases,
        repository: MySQLJobRepository,
        runner: JobRunner,
        cancels: CancelWatch,
        events,
        announcer: Announcer,
        name: str,
        lease_s: float,
    ) -> None:
        self.leases = leases
        self.repository = repository
        self.runner = runner
        self.cancels = cancels
        self.events = events
        self.announcer = announcer
        self.name = name
        self.lease_s = lease_s

    def execute(self, job_id: str) -> str:
        """RAN, DONE (nothing to do), LATER (another worker holds it: ask again) or INTERRUPTED."""
        state = self.leases.state(job_id)
        if state is None or state.status in TERMINAL:
            return DONE
        if state.status == "running":
            if state.idle_s is not None and state.idle_s < self.lease_s:
                return LATER  # alive elsewhere (or a Redis redelivery of a job still running)
            if state.attempts >= MAX_ATTEMPTS:
                detail = "the worker running this job stopped, twice; it was not run again"
                if self.repository.finish(job_id, status="failed", at=now(), error=detail):
                    self.announcer.announce(job_id)
                return DONE
            logger.warning("job %s: its worker %s went silent; running it again", job_id, state.worker)
            self.repository.requeue(job_id)
        if not self.leases.claim(job_id, worker=self.name, at=now()):
            return LATER  # claimed by another worker a moment ago, or cancelled: the next look tells
        record = self.repository.get(job_id)
        self.events.publish(job_id, "started")
        live = Live(n=record.n, steps=record.params.steps, cancel=self.cancels.switch(job_id), claimed=True)
        self.runner.live.add(job_id, live)
        try:
            outcome = self.runner.run(job_id, record.params, record.n, live)
        finally:
            self.cancels.forget(job_id)
        if outcome.status is None:  # this worker is stopping: the job goes back for another
            self.repository.requeue(job_id)
            return INTERRUPTED
        return RAN

    def running(self) -> list[str]:
        return self.runner.live.ids()

    def heartbeat(self) -> None:
        self.leases.heartbeat(self.running())

    def close(self) -> None:
        self.runner.stop()
