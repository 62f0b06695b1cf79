"""Nothing stranded: jobs accepted with a 202 whose task never reached a worker are sent again.

The row is committed before the task is published, so an API process killed in between leaves a queued job
with no task; a Redis broker restarted without persistence loses every queued task the same way. One API
process at a time (a lease in MySQL) sweeps the jobs older than ``stranded_after_s`` that no live worker
holds, and publishes their tasks again, to their model's queue. A duplicate task is harmless: a worker claims
the row, or skips it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from core.clock import now
from core.exceptions import BrokerUnavailable, ImageException
from data.chores import ChoreLeases
from data.jobs import MySQLJobRepository
from service.distributed.dispatch import CeleryDispatch

logger = logging.getLogger(__name__)

CHORE = "stranded-jobs"
BATCH = 200  # tasks sent per sweep at most: a large backlog is worked through over several beats


class StrandedJobs:
    def __init__(
        self,
        *,
        repository: MySQLJobRepository,
        chores: ChoreLeases,
        dispatch: CeleryDispatch,
        holder: str,
        default_model: str,
        stranded_after_s: float,
        lease_s: float,
        every_s: float,
    ) -> None:
        """``lease_s``: a worker silent this long is dead; ``every_s``: how often ``sweep`` is called;
        ``default_model``: the queue of a job accepted before jobs named their model."""
        self.repository = repository
        self.chores = chores
        self.dispatch = dispatch
        self.holder = holder
        self.default_model = default_model
        self.stranded_after = timedelta(seconds=stranded_after_s)
        self.lease_s = lease_s
        self.every_s = every_s

    def sweep(self) -> int:
        """Send the tasks of stranded jobs again, if this process holds the chore; how many were sent."""
        try:
            if not self.chores.hold(CHORE, holder=self.holder, for_s=3 * self.every_s):
                return 0
            stranded = self.repository.stranded(before=now() - self.stranded_after, lease_s=self.lease_s, limit=BATCH)
        except ImageException as exc:  # the database is away: the next beat tries again
            logger.warning("stranded jobs not swept: %s", exc.message)
            return 0
        sent = []
        for job_id, model in stranded:
            try:
                self.dispatch.enqueue(job_id, model=model or self.default_model)
            except BrokerUnavailable:
                break  # the broker is away: what was not sent stays stranded for the next sweep
            sent.append(job_id)
        if sent:
            self.repository.mark_republished(sent, at=now())
            logger.warning("sent %d stranded jobs to the broker again: %s", len(sent), sent[:10])
        return len(sent)
