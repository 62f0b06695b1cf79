"""Jobs: accepted at once, kept in MySQL, run in the background through the same worker as ``/image/``."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from core.clock import now
from core.cursor import encode_cursor
from core.exceptions import ImageException, JobFinished, JobNotFound
from core.ids import canonical_id
from core.jobs import TERMINAL, Job, JobRequest, outcome_data
from core.models import GenerationParams, GenerationRequest, ImageDetail
from data.job_inputs import JobInputRepository
from data.jobs import JobRecord, MySQLJobRepository
from service.edits.sources import EditInputs
from service.edits.uploads import Uploads
from service.images.params import check_cost
from service.images.service import ImageService
from service.jobs.events import JobEvents
from service.jobs.idempotency import KeyPurger, await_job, check_owner, key_claim
from service.jobs.intake import JobIntake
from service.jobs.live_previews import PreviewWatch
from service.jobs.runner import JobRunner
from service.jobs.state import Live, WhileQueued, job_view
from service.webhooks.policy import WebhookPolicy

logger = logging.getLogger(__name__)

JobPage = tuple[list[Job], str | None]
MAX_ATTEMPTS = 2  # a job that was running when the process died runs once more, then fails


class JobService(JobRunner, JobIntake):
    def __init__(self, *, repository: MySQLJobRepository, images: ImageService, runners: int) -> None:
        self.repository = repository
        self.images = images
        self._executor = ThreadPoolExecutor(max_workers=runners, thread_name_prefix="job")
        self._live: dict[str, Live] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.events = JobEvents()
        self.previews = PreviewWatch()  # previews are made only for jobs whose stream asked for them
        # Called with the finished Job, on the thread that finished it (webhooks subscribe here).
        self.on_finish: list[Callable[[Job], None]] = []
        self.webhook_policy = WebhookPolicy()  # refuses every webhook_url until bootstrap configures it
        self.keys = KeyPurger(repository.purge_keys)
        self.inputs = EditInputs(JobInputRepository(repository.pool), lambda guid: images.content(guid).read())

    def submit(
        self,
        request: JobRequest | dict,
        *,
        idempotency_key: str | None = None,
        route: str = "jobs",
        abandoned: threading.Event | None = None,
    ) -> Job:
        """Accept a job; a known ``idempotency_key`` (per route, same body) returns its job instead.

        ``abandoned`` set while the job is still queued (its streaming client left) cancels it; once it runs,
        it finishes and is stored, as on the synchronous routes."""
        request = request if isinstance(request, JobRequest) else JobRequest.model_validate(request)
        key = key_claim(idempotency_key, route=route, body=request, at=now())
        webhook_url = self.webhook_policy.check(request.webhook_url) if request.webhook_url is not None else None
        params = self.images.resolve(request.model_dump(exclude={"n", "webhook_url"}))
        check_cost(params, n=request.n, limits=self.images.limits)
        job_id = str(uuid.uuid4())
        owner = self.repository.add(job_id, params, n=request.n, created_at=now(), webhook_url=webhook_url, key=key)
        if owner is not None and key is not None:
            self.keys.now_and_then(now())
            check_owner(owner, key)
            if owner.job_id != job_id:
                return self.get(owner.job_id)
        job = self.get(job_id)
        # Before the launch: a fast job's started and progress events must not overtake its queued.
        self.events.publish(job.id, "queued", {"position": job.position or 0})
        self._launch(job_id, params, request.n, abandoned=abandoned)
        return job

    def get(self, job_id: str) -> Job:
        record = self.repository.get(canonical_id(job_id))
        if record is None:
            raise JobNotFound()
        return self._job(record)

    def list(self, *, limit: int = 100, offset: int = 0, status: str | None = None) -> list[Job]:
        return self.list_page(limit=limit, offset=offset, status=status)[0]

    def list_page(self, *, limit: int = 100, offset: int = 0, before: str | None = None, **filters) -> JobPage:
        """Newest first, and a cursor (a position) for the next page, None on the last; ``filters``: status,
        before_seq (a decoded cursor)."""
        before = canonical_id(before) if before is not None else None
        records = self.repository.list(limit=limit + 1, offset=offset, before=before, **filters)
        cursor = encode_cursor(records[limit - 1].seq) if len(records) > limit else None
        return [self._job(record) for record in records[:limit]], cursor

    def count(self, *, status: str | None = None) -> int:
        return self.repository.count(status=status)

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

    def _launch(self, job_id: str, params: GenerationParams, n: int, abandoned: threading.Event | None = None) -> None:
        with self._lock:
            live = self._live[job_id] = Live(n=n, steps=params.steps)
        options = {"abandoned": WhileQueued(abandoned, live)} if abandoned is not None else {}
        self._executor.submit(self._run, job_id, params, n, **options)

    def run(
        self,
        request: GenerationRequest | dict,
        *,
        n: int = 1,
        abandoned: threading.Event | None = None,
        idempotency_key: str | None = None,
        route: str = "image",
        uploads: Uploads | None = None,
    ) -> list[ImageDetail]:
        """The synchronous routes' path: a job like any other, awaited on the calling thread.

        A full queue is refused before anything is written (503). If the client leaves (``abandoned``)
        while the job is queued, it is dropped; once it runs, it finishes and is stored. An edit's ``uploads``
        are written with its row before it runs, so it runs from MySQL like a queued job.
        """
        accepted = self._accept(request, n=n, idempotency_key=idempotency_key, route=route, uploads=uploads)
        job_id, params, persisted = accepted.job_id, accepted.params, accepted.persisted
        if accepted.earlier is not None:
            return await_job(self, accepted.earlier, abandoned=abandoned)
        with self._lock:
            live = self._live[job_id] = Live(n=n, steps=params.steps, persisted=persisted, created_at=now())
        if live.persisted:  # without a key no stream can know this job's id: its events would go unheard
            self.events.publish(job_id, "queued", {"position": 0})
        outcome = self._run(job_id, params, n, abandoned=WhileQueued(abandoned, live), retry_busy=False)
        if outcome.error is not None:
            raise outcome.error
        return outcome.details

    def _announce(self, job_id: str, job: Job | None = None, *, publish: bool = True) -> None:
        """The terminal event (unless no stream can be listening), then whoever listens for finished jobs."""
        job = job or self.get(job_id)
        if publish:
            self.events.publish(job.id, job.status, outcome_data(job), final=True)
        for listener in self.on_finish:
            try:
                listener(job)
            except Exception:
                logger.exception("a finished-job listener failed for %s", job.id)

    def _job(self, record: JobRecord) -> Job:
        live = self._progress_of(record.id) if record.status == "running" else None
        position = self.repository.position(record.seq) if record.status == "queued" else None
        images = [image for guid in record.images if (image := self._image(guid)) is not None]
        return job_view(record, live, position=position, images=images)

    def _progress_of(self, job_id: str):
        """A running job's progress (``progress()``), as this process knows it: it runs the job here."""
        with self._lock:
            return self._live.get(job_id)

    def _image(self, guid: str):
        try:
            return self.images.get(guid)
        except ImageException:
            return None
