"""How a job runs in this process: through the batch queue, to an outcome written with its images."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from core.clock import now
from core.exceptions import GeneratorBusy, ImageException, JobFinished, RequestAbandoned
from core.models import GenerationParams, ImageDetail
from data.jobs import JobRecord, MySQLJobRepository
from data.write import Write
from service.edits.sources import EditInputs
from service.images.generation import ImageGeneration
from service.jobs.live_previews import preview_hook
from service.jobs.state import Live, LiveJobs, Outcome, job_view
from service.jobs.views import Announcer

logger = logging.getLogger(__name__)

BUSY_RETRY_S = 0.2
REFUSED = "refused"  # a synchronous job that found no room: withdrawn, as if never accepted


class JobRunner:
    def __init__(
        self,
        *,
        repository: MySQLJobRepository,
        generation: ImageGeneration,
        events,
        previews_wanted: Callable[[str], bool],
        inputs: EditInputs,
        announcer: Announcer,
        live: LiveJobs,
    ) -> None:
        """``previews_wanted(job_id)``: whether a stream (in this process or, through the row, any) wants them."""
        self.repository = repository
        self.generation = generation
        self.events = events
        self.previews_wanted = previews_wanted
        self.inputs = inputs
        self.announcer = announcer
        self.live = live
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Runs still waiting for room give up; their jobs stay unfinished in MySQL for the next start."""
        self._stopping.set()

    def run(self, job_id: str, params: GenerationParams, n: int, live: Live, **options) -> Outcome:
        """Run a job registered in ``self.live`` as ``live``; it leaves the registry when its run ends."""
        try:
            outcome = self._generate(job_id, params, n, live, **options)
        except Exception:
            logger.exception("job %s failed outside its contract", job_id)
            outcome = Outcome("failed", error=ImageException())
        finally:
            self.live.discard(job_id)
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
                if live.persisted and not live.claimed and self.repository.start(job_id, at=live.started_at):
                    self.events.publish(job_id, "started")

        def progressed() -> None:
            if live.persisted:
                self.events.publish(job_id, "progress", live.progress())

        def hooks_for(i: int):
            return live.hooks(i, started, progressed, preview_hook(self.events, job_id, i, self.previews_wanted))

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
                details = self.generation.generate(
                    params, n=n, abandoned=abandoned, hooks_for=hooks_for, also=end, sources=sources
                )
            except GeneratorBusy as exc:
                if not retry_busy:
                    return Outcome(REFUSED, error=exc)
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
        if outcome.status == REFUSED:  # the client hears a 503 and may retry, with the same key
            if live.persisted:
                self.repository.withdraw(job_id)
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
            self.announcer.announce(job_id, known=outcome.details)
            return
        # No stream can be following it: the finished Job is built from memory, for the listeners only.
        record = JobRecord(0, job_id, outcome.status, params, live.n, 1, images=images, error=error, **live.times)
        self.announcer.announce(job_id, job_view(record, None, position=None, images=outcome.details), publish=False)
