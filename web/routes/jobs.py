"""Jobs: generate in the background; poll, list or cancel while it runs."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from core.cursor import decode_cursor
from core.jobs import Job, JobRequest, JobStatus
from web.deps import IdempotencyKey, JobServiceDep
from web.paging import Limit, Marker, Offset, link_next

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.post("", status_code=202, response_model=Job)
@router.post("/", status_code=202, response_model=Job, include_in_schema=False)
def create_job(
    body: JobRequest, response: Response, jobs: JobServiceDep, idempotency_key: IdempotencyKey = None
) -> Job:
    """Accept a generation of 1 to 4 images; it runs in the background and survives a restart.

    With an ``Idempotency-Key``, a repeat of the same body within 24 h answers the same job (202, same id),
    running or finished; the same key with another body is a 422.
    """
    job = jobs.submit(body, idempotency_key=idempotency_key, route="jobs")
    response.headers["Location"] = f"/jobs/{job.id}"
    return job


@router.get("", response_model=list[Job])
@router.get("/", response_model=list[Job], include_in_schema=False)
def list_jobs(
    request: Request,
    response: Response,
    jobs: JobServiceDep,
    limit: Limit = 100,
    offset: Offset = 0,
    status: JobStatus | None = None,
    before: Marker = None,
    cursor: Marker = None,
) -> list[Job]:
    """Recent jobs, newest first, optionally of one status; paged as ``GET /image/`` is.

    ``X-Total-Count`` counts the jobs of that status (or all); ``Link: <…>; rel="next"`` names the next page
    (by ``cursor``, a position) while there is one. ``before=<job id>`` starts after that job.
    """
    position = decode_cursor(cursor) if cursor else None
    page, next_cursor = jobs.list_page(
        limit=limit, offset=offset, status=status, before=before or None, before_seq=position
    )
    response.headers["X-Total-Count"] = str(jobs.count(status=status))
    if next_cursor is not None:
        link_next(request, response, {"limit": limit, "cursor": next_cursor} | ({"status": status} if status else {}))
    return page


@router.get("/{job_id}", response_model=Job)
def get_job(job_id: str, jobs: JobServiceDep) -> Job:
    """A job: its status, queue position, progress and, once done, its images or error."""
    return jobs.get(job_id)


@router.delete("/{job_id}", response_model=Job)
def cancel_job(job_id: str, jobs: JobServiceDep) -> Job:
    """Cancel: a queued job never runs, a running one stops at its next step; a finished one is a 409."""
    return jobs.cancel(job_id)
