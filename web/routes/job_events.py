"""``GET /jobs/{id}/events``: a job's progress as Server-Sent Events, resumable with Last-Event-ID."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from core.exceptions import InvalidInput
from service.jobs.events import JobEvent
from web.deps import JobServiceDep
from web.sse import SSE_HEADERS, follow

router = APIRouter(prefix="/jobs", tags=["jobs"])

_MAX_ID_DIGITS = 18


def last_event_id(raw: str | None) -> int:
    """The id of the last event the client saw; 0 when it saw none."""
    if raw is None or raw == "":
        return 0
    if not (raw.isascii() and raw.isdigit() and len(raw) <= _MAX_ID_DIGITS):
        raise InvalidInput("Last-Event-ID must be a non-negative integer", field="Last-Event-ID")
    return int(raw)


def frame(event: JobEvent) -> str:
    # A progress event carries its step's wall time, so a client can tell how late it arrived.
    payload = event.data | {"at": round(event.at, 3)} if event.kind == "progress" else event.data
    data = json.dumps(payload, separators=(",", ":"))
    return f"id: {event.id}\nevent: {event.kind}\ndata: {data}\n\n"


async def _framed(event: JobEvent) -> AsyncIterator[str]:
    yield frame(event)


@router.get("/{job_id}/events", response_class=StreamingResponse)
async def job_events(
    job_id: str,
    jobs: JobServiceDep,
    previews: Annotated[bool, Query()] = False,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Server-Sent Events: queued, started, progress (and preview with ?previews=1), then the outcome."""
    after = last_event_id(last_event_id_header)
    job = await run_in_threadpool(jobs.get, job_id)
    stream = follow(jobs, job.id, after=after, previews=previews, render=_framed)
    return StreamingResponse(stream, media_type="text/event-stream", headers=SSE_HEADERS)
