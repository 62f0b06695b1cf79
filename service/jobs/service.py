"""Jobs: every generation, from every entry point, is accepted here, kept in MySQL, and started by the
launcher the composition root passes (run here, or sent to a GPU worker)."""

from __future__ import annotations

import threading

from core.clock import now
from core.cursor import encode_cursor
from core.exceptions import GeneratorBusy, JobFinished
from core.ids import canonical_id
from core.jobs import TERMINAL, Job, JobRequest
from core.models import GenerationRequest, ImageDetail
from data.jobs import MySQLJobRepository
from service.edits.uploads import Uploads
from service.jobs.intake import JobIntake
from service.jobs.launch import Launcher
from service.jobs.state import LiveJobs
from service.jobs.views import Announcer, JobViews

JobPage = tuple[list[Job], str | None]


class JobService:
    def __init__(
        self,
        *,
        repository: MySQLJobRepository,
        intake: JobIntake,
        launcher: Launcher,
        views: JobViews,
        announcer: Announcer,
        live: LiveJobs,
        events,
        previews,
    ) -> None:
        """``live``: the jobs running in this process (none in an API process of the distributed mode);
        ``previews.watching(job_id)``: how a stream asks for a job's previews."""
        self.repository = repository
        self.intake = intake
        self.launcher = launcher
        self.views = views
        self.announcer = announcer
        self.live = live
        self.events = events
        self.previews = previews

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
        accepted = self.intake.accept_job(request, idempotency_key=idempotency_key, route=route)
        if accepted.earlier is not None:
            return self.get(accepted.earlier)
        job = self.get(accepted.job_id)
        # Before the launch: a fast job's started and progress events must not overtake its queued.
        self.events.publish(job.id, "queued", {"position": job.position or 0})
        self.launcher.launch(job.id, accepted.params, accepted.n, abandoned=abandoned)
        return job

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
        """The synchronous entry points' path: a job like any other, answered when it ends.

        A full queue is refused before anything is written (503). An edit's ``uploads`` are written with its
        row before it runs, so it runs from MySQL like a queued job.
        """
        accepted = self.intake.accept_sync(
            request,
            n=n,
            idempotency_key=idempotency_key,
            route=route,
            uploads=uploads,
            write_row=self.launcher.write_row,
        )
        if accepted.earlier is not None:
            return self.views.wait(accepted.earlier, abandoned=abandoned)
        return self.launcher.run(accepted, abandoned=abandoned)

    def check_room(self) -> None:
        """A 503 now if a synchronous request would be refused as busy: for callers with costly work to do
        before ``run`` (an edit's uploads to decode). ``run`` checks again."""
        if self.intake.full():
            raise GeneratorBusy()

    def get(self, job_id: str) -> Job:
        return self.views.get(job_id)

    def list(self, *, limit: int = 100, offset: int = 0, status: str | None = None) -> list[Job]:
        return self.list_page(limit=limit, offset=offset, status=status)[0]

    def list_page(self, *, limit: int = 100, offset: int = 0, before: str | None = None, **filters) -> JobPage:
        """Newest first, and a cursor (a position) for the next page, None on the last; ``filters``: status,
        before_seq (a decoded cursor)."""
        before = canonical_id(before) if before is not None else None
        records = self.repository.list(limit=limit + 1, offset=offset, before=before, **filters)
        cursor = encode_cursor(records[limit - 1].seq) if len(records) > limit else None
        return [self.views.of(record) for record in records[:limit]], cursor

    def count(self, *, status: str | None = None) -> int:
        return self.repository.count(status=status)

    def totals(self) -> dict[str, int]:
        """Jobs per status in the table, whichever process ran them (statuses with none are left out)."""
        return self.repository.count_by_status()

    def cancel(self, job_id: str) -> Job:
        """A queued job never runs; a running one stops at its next step; a finished one is a 409."""
        job = self.get(job_id)
        if job.status in TERMINAL:
            raise JobFinished()
        self.live.cancel(job.id)
        if not self.repository.finish(job.id, status="cancelled", at=now()):
            raise JobFinished()  # it ended between the read and the write: its own outcome stands
        self.announcer.announce(job.id)
        return self.get(job.id)

    def close(self) -> None:
        self.launcher.close()
