"""How a job is seen: read from its row by a client, awaited by a synchronous request, announced when it ends."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from core.exceptions import GenerationFailed, ImageException, JobNotFound, RequestAbandoned
from core.ids import canonical_id
from core.jobs import TERMINAL, Job, outcome_data
from core.models import ImageDetail
from data.jobs import JobRecord, MySQLJobRepository
from service.images.service import ImageService
from service.jobs.state import job_view

logger = logging.getLogger(__name__)

AWAIT_POLL_S = 0.5  # a waiter also looks at the row this often: the job may run in another process


class KeyJobEnded(ImageException):
    status_code = 409
    default_message = "the request with this Idempotency-Key was cancelled; send it with a new key"


class JobViews:
    def __init__(
        self,
        *,
        repository: MySQLJobRepository,
        images: ImageService,
        events,
        progress: Callable[[str], dict | None],
    ) -> None:
        """``progress(job_id)`` is a running job's progress as this process can know it, or None."""
        self.repository = repository
        self.images = images
        self.events = events
        self.progress = progress

    def get(self, job_id: str, *, known: Sequence[ImageDetail] = ()) -> Job:
        """``known``: images the caller has just stored, so they need not be read back."""
        record = self.repository.get(canonical_id(job_id))
        if record is None:
            raise JobNotFound()
        return self.of(record, known=known)

    def of(self, record: JobRecord, *, known: Sequence[ImageDetail] = ()) -> Job:
        progress = self.progress(record.id) if record.status == "running" else None
        position = self.repository.position(record.seq) if record.status == "queued" else None
        stored = {image.guid: image for image in known}
        images = [image for guid in record.images if (image := stored.get(guid) or self._image(guid)) is not None]
        return job_view(record, progress, position=position, images=images)

    def wait(
        self, job_id: str, *, abandoned: threading.Event | None = None, timeout: float | None = None
    ) -> list[ImageDetail]:
        """A synchronous request's answer: wait for the job (maybe run elsewhere) and answer as it ended;
        after ``timeout`` seconds a 500 (the job itself goes on, and a keyed retry can still collect it)."""
        deadline = time.monotonic() + timeout if timeout is not None else None
        after = None
        while (job := self.get(job_id)).status not in TERMINAL:
            if abandoned is not None and abandoned.is_set():
                raise RequestAbandoned()
            if deadline is not None and time.monotonic() >= deadline:
                raise GenerationFailed("image generation timed out")
            if after is None:
                seen = self.events.since(job_id)
                after = seen[-1].id if seen else 0
            after = self._until_terminal(job_id, after, abandoned)
        if job.status == "succeeded":
            return job.images
        if job.status == "failed":
            raise GenerationFailed(job.error.detail if job.error else None)
        raise KeyJobEnded()

    def _until_terminal(self, job_id: str, after: int, abandoned: threading.Event | None) -> int:
        """Follow the job's events for up to ``AWAIT_POLL_S``, until a terminal one; the last id seen.

        Its started and progress events need no look at the row (a read of the job, and of its position or
        progress, per event): only its end, or the interval, sends the caller back to the row."""
        deadline = time.monotonic() + AWAIT_POLL_S
        while (remaining := deadline - time.monotonic()) > 0:
            if abandoned is not None and abandoned.is_set():
                break
            new = self.events.wait(job_id, after, timeout=remaining)
            if new:
                after = new[-1].id
            if any(event.kind in TERMINAL for event in new):
                break
        return after

    def _image(self, guid: str) -> ImageDetail | None:
        try:
            return self.images.get(guid)
        except ImageException:
            return None


class Announcer:
    """A job's end, told once: its terminal event for streams, then every listener (webhooks, metrics)."""

    def __init__(self, *, events, views: JobViews, listeners: Sequence[Callable[[Job], None]] = ()) -> None:
        self.events = events
        self.views = views
        self.listeners = tuple(listeners)

    def announce(
        self, job_id: str, job: Job | None = None, *, publish: bool = True, known: Sequence[ImageDetail] = ()
    ) -> None:
        """``publish=False`` when no stream can be listening (a synchronous job without a row until now);
        ``known``: the images just stored, which need not be read back."""
        job = job or self.views.get(job_id, known=known)
        if publish:
            self.events.publish(job.id, job.status, outcome_data(job), final=True)
        for listener in self.listeners:
            try:
                listener(job)
            except Exception:
                logger.exception("a finished-job listener failed for %s", job.id)
