"""Jobs: accepted at once, kept in MySQL, run in the background through the same worker as ``/image/``."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from core.exceptions import GeneratorBusy, ImageException, InvalidInput, JobFinished, JobNotFound, RequestAbandoned
from core.jobs import TERMINAL, Job, JobError, JobRequest
from core.models import GenerationParams
from data.jobs import JobRecord, MySQLJobRepository
from service.images import ImageService, now
from service.job_events import JobEvents
from service.params import check_cost
from service.previews import PreviewWatch
from service.worker import Hooks

logger = logging.getLogger(__name__)

BUSY_RETRY_S = 0.2
MAX_ATTEMPTS = 2  # a job that was running when the process died runs once more, then fails


@dataclass
class _Live:
    """What only this process knows of a job it runs: its cancel switch and per-image step counts."""

    n: int
    steps: int
    cancel: threading.Event = field(default_factory=threading.Event)
    done: list[int] = field(default_factory=list)
    started: float | None = None

    def __post_init__(self) -> None:
        self.done = [0] * self.n

    def hooks(self, index: int, on_start, on_progress, on_preview=None) -> Hooks:
        def on_step(step: int, steps: int) -> None:
            self.done[index] = step
            on_progress()

        return Hooks(on_start=on_start, on_step=on_step, cancel=self.cancel, on_preview=on_preview)

    def progress(self) -> dict:
        """step, steps, progress and eta_ms over all of the job's images."""
        steps = self.steps * self.n
        step = sum(self.done)
        eta_ms = None
        if self.started is not None and 0 < step < steps:
            eta_ms = round((time.monotonic() - self.started) / step * (steps - step) * 1000)
        return {"step": step, "steps": steps, "progress": round(step / steps, 4) if steps else 0.0, "eta_ms": eta_ms}


def canonical_id(job_id: str) -> str:
    try:
        return str(uuid.UUID(job_id))
    except (ValueError, AttributeError, TypeError):
        raise JobNotFound() from None


class JobService:
    def __init__(self, *, repository: MySQLJobRepository, images: ImageService, runners: int) -> None:
        self.repository = repository
        self.images = images
        self._executor = ThreadPoolExecutor(max_workers=runners, thread_name_prefix="job")
        self._live: dict[str, _Live] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.events = JobEvents()
        self.previews = PreviewWatch()  # previews are made only for jobs whose stream asked for them
        # Called with the finished Job, on the thread that finished it (webhooks subscribe here).
        self.on_finish: list[Callable[[Job], None]] = []

    def submit(self, request: JobRequest | dict) -> Job:
        request = request if isinstance(request, JobRequest) else JobRequest.model_validate(request)
        if request.webhook_url is not None:
            raise InvalidInput("webhook_url: webhooks are not configured on this server", field="webhook_url")
        params = self.images.resolve(request.model_dump(exclude={"n", "webhook_url"}))
        check_cost(params, n=request.n, limits=self.images.limits)
        job_id = str(uuid.uuid4())
        self.repository.add(job_id, params, n=request.n, created_at=now())
        job = self.get(job_id)
        # Before the launch: a fast job's started and progress events must not overtake its queued.
        self.events.publish(job.id, "queued", {"position": job.position or 0})
        self._launch(job_id, params, request.n)
        return job

    def get(self, job_id: str) -> Job:
        record = self.repository.get(canonical_id(job_id))
        if record is None:
            raise JobNotFound()
        return self._job(record)

    def list(self, *, limit: int = 100, offset: int = 0, status: str | None = None) -> list[Job]:
        return [self._job(record) for record in self.repository.list(limit=limit, offset=offset, status=status)]

    def cancel(self, job_id: str) -> Job:
        """A queued job never runs; a running one stops at its next step; a finished one is a 409."""
        job = self.get(job_id)
        if job.status in TERMINAL:
            raise JobFinished()
        with self._lock:
            live = self._live.get(job.id)
        if live is not None:
            live.cancel.set()
        if self.repository.finish(job.id, status="cancelled", at=now()):
            self._announce(job.id)
        return self.get(job.id)

    def recover(self) -> None:
        """After a restart: queued jobs run; a job that was running runs once more, or fails."""
        for record in self.repository.unfinished():
            if record.status == "running" and record.attempts >= MAX_ATTEMPTS:
                detail = "the service stopped while this job ran, twice; it was not run again"
                self.repository.finish(record.id, status="failed", at=now(), error=detail)
                continue
            if record.status == "running":
                self.repository.requeue(record.id)
            logger.info("resuming job %s (%s before the restart)", record.id, record.status)
            self._launch(record.id, record.params, record.n)
            self.events.publish(record.id, "queued", {"position": 0})

    def close(self) -> None:
        self._stopping.set()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _launch(self, job_id: str, params: GenerationParams, n: int) -> None:
        with self._lock:
            self._live[job_id] = _Live(n=n, steps=params.steps)
        self._executor.submit(self._run, job_id, params, n)

    def _run(self, job_id: str, params: GenerationParams, n: int) -> None:
        live = self._live[job_id]
        try:
            self._finish(job_id, **self._generate(job_id, params, n, live))
        except Exception:
            logger.exception("job %s failed outside its contract", job_id)
            self._finish(job_id, status="failed", error="internal error")
        finally:
            with self._lock:
                self._live.pop(job_id, None)

    def _generate(self, job_id: str, params: GenerationParams, n: int, live: _Live) -> dict:
        def started() -> None:
            if live.started is None:
                live.started = time.monotonic()
                if self.repository.start(job_id, at=now()):
                    self.events.publish(job_id, "started")

        def progressed() -> None:
            self.events.publish(job_id, "progress", live.progress())

        while not self._stopping.is_set():
            if live.cancel.is_set():
                return {"status": "cancelled"}
            try:
                request = params.model_dump()
                hooks_for = lambda i: live.hooks(i, started, progressed, self.previews.hook(self.events, job_id, i))  # noqa: E731
                details = self.images.create_many(request, n=n, abandoned=live.cancel, hooks_for=hooks_for)
            except GeneratorBusy:
                self._stopping.wait(BUSY_RETRY_S)  # the queue is shared with /image/: wait for room
                continue
            except RequestAbandoned:
                return {"status": "cancelled"}
            except ImageException as exc:
                return {"status": "failed", "error": exc.message}
            return {"status": "succeeded", "images": [d.guid for d in details]}
        return {"status": None}  # shutting down: the job stays unfinished and resumes at the next start

    def _finish(self, job_id: str, *, status: str | None, images: list[str] | None = None, error=None) -> None:
        if status is not None and self.repository.finish(job_id, status=status, at=now(), images=images, error=error):
            self._announce(job_id)

    def _announce(self, job_id: str) -> None:
        """The terminal event, then whoever listens for finished jobs."""
        job = self.get(job_id)
        data = {"detail": job.error.detail} if job.status == "failed" and job.error else job.model_dump(mode="json")
        self.events.publish(job.id, job.status, data, final=True)
        for listener in self.on_finish:
            try:
                listener(job)
            except Exception:
                logger.exception("a finished-job listener failed for %s", job.id)

    def _job(self, record: JobRecord) -> Job:
        with self._lock:
            live = self._live.get(record.id)
        steps = record.params.steps * record.n
        progress = {"step": steps if record.status == "succeeded" else 0, "steps": steps, "eta_ms": None}
        if live is not None and record.status == "running":
            progress = live.progress()
        step = progress["step"]
        eta_ms = progress["eta_ms"]
        return Job(
            id=record.id,
            status=record.status,
            position=self.repository.position(record.seq) if record.status == "queued" else None,
            step=step,
            steps=steps,
            progress=round(step / steps, 4) if steps else 0.0,
            eta_ms=eta_ms,
            n=record.n,
            created_at=record.created_at,
            started_at=record.started_at,
            finished_at=record.finished_at,
            params=record.params,
            images=[image for guid in record.images if (image := self._image(guid)) is not None],
            error=JobError(detail=record.error) if record.error else None,
        )

    def _image(self, guid: str):
        try:
            return self.images.get(guid)
        except ImageException:
            return None
