"""How a job runs: through the image service and worker, to an outcome written with its images."""

from __future__ import annotations

import logging
import time

from core.clock import now
from core.exceptions import GeneratorBusy, ImageException, JobFinished, RequestAbandoned
from core.models import GenerationParams, ImageDetail
from data.jobs import JobRecord
from data.write import Write
from service.jobs.state import Live, Outcome, job_view

logger = logging.getLogger(__name__)

BUSY_RETRY_S = 0.2


class JobRunner:
    """The running half of ``JobService``, which sets the attributes used here."""

    def _run(self, job_id: str, params: GenerationParams, n: int, **options) -> Outcome:
        live = self._live[job_id]
        try:
            outcome = self._generate(job_id, params, n, live, **options)
        except Exception:
            logger.exception("job %s failed outside its contract", job_id)
            outcome = Outcome("failed", error=ImageException())
        finally:
            with self._lock:
                self._live.pop(job_id, None)
        self._finish(job_id, outcome, live, params)
        if outcome.status:
            self.inputs.discard(job_id, params)  # an edit's uploads, once it has ended
        return outcome

    def _generate(
        self, job_id: str, params: GenerationParams, n: int, live: Live, *, abandoned=None, retry_busy: bool = True
    ) -> Outcome:
        def started() -> None:
            if live.started is None:
                live.started, live.started_at = time.monotonic(), now()
                if live.persisted and self._mark_started(job_id, live.started_at):
                    self.events.publish(job_id, "started")

        def progressed() -> None:
            if live.persisted:
                self.events.publish(job_id, "progress", live.progress())

        def hooks_for(i: int):
            return live.hooks(i, started, progressed, self.previews.hook(self.events, job_id, i))

        ended: list[Write] = []

        def end(details: list[ImageDetail]) -> Write:
            ended.append(self._succeeded(job_id, live, params, details))
            return ended[-1]

        try:
            sources = self.inputs.load(job_id, params)  # an edit's images, read from MySQL when it runs
        except ImageException as exc:
            return Outcome("failed", error=exc)
        abandoned = abandoned or live.cancel
        while not self._stopping.is_set():
            if live.cancel.is_set() or abandoned.is_set():
                return Outcome("cancelled", error=RequestAbandoned())
            try:
                # Resolved and checked when the job was accepted: its stored params are final.
                details = self.images.generate(
                    params, n=n, abandoned=abandoned, hooks_for=hooks_for, also=end, sources=sources
                )
            except GeneratorBusy as exc:
                if not retry_busy:
                    return Outcome("failed", error=exc)
                self._stopping.wait(BUSY_RETRY_S)  # the queue is shared with /image/: wait for room
                continue
            except RequestAbandoned as exc:
                return Outcome("cancelled", error=exc)
            except JobFinished:  # cancelled (or run by another worker) before its images were stored
                return Outcome("cancelled", error=RequestAbandoned(), written=ended[-1])
            except ImageException as exc:
                return Outcome("failed", error=exc)
            return Outcome("succeeded", details=details, written=ended[-1] if ended else None)
        # Shutting down: the job stays unfinished in MySQL and resumes at the next start.
        return Outcome(None, error=GeneratorBusy("the service is shutting down"))

    def _mark_started(self, job_id: str, at) -> bool:
        """queued -> running in the row; False when a cancel got there first."""
        return self.repository.start(job_id, at=at)

    def _succeeded(self, job_id: str, live: Live, params: GenerationParams, details: list[ImageDetail]) -> Write:
        """The job's end, for its images' transaction: a crash can never store them without ending the job."""
        images = [detail.guid for detail in details]
        if live.persisted:
            return self.repository.finished(job_id, status="succeeded", at=now(), images=images)
        live.times = {"created_at": live.created_at, "started_at": live.started_at, "finished_at": now()}
        return self.repository.finished_row(
            job_id, params, n=live.n, status="succeeded", times=live.times, images=images
        )

    def _finish(self, job_id: str, outcome: Outcome, live: Live, params: GenerationParams) -> None:
        if not outcome.status:
            return
        images = [detail.guid for detail in outcome.details]
        error = outcome.error.message if outcome.status == "failed" and outcome.error else None
        if outcome.written is not None:  # written with the images; 0 rows: a cancel ended the job first
            ended = outcome.written.rowcount > 0
        elif live.persisted:
            ended = self.repository.finish(job_id, status=outcome.status, at=now(), images=images, error=error)
        else:
            live.times = {"created_at": live.created_at, "started_at": live.started_at, "finished_at": now()}
            self.repository.add_finished(
                job_id, params, n=live.n, status=outcome.status, times=live.times, images=images, error=error
            )
            ended = True
        if not ended:
            return
        if live.persisted:
            self._announce(job_id)
            return
        # No stream can be following it: the finished Job is built from memory, for the listeners only.
        record = JobRecord(0, job_id, outcome.status, params, live.n, 1, images=images, error=error, **live.times)
        self._announce(job_id, job_view(record, None, position=None, images=outcome.details), publish=False)
