"""``GET /jobs/{id}/events``: a job's progress as Server-Sent Events, resumable with Last-Event-ID."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import ExitStack
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from core.exceptions import InvalidInput
from core.jobs import TERMINAL, Job, outcome_data
from service.jobs.events import JobEvent
from service.jobs.service import JobService
from web.deps import JobServiceDep

router = APIRouter(prefix="/jobs", tags=["jobs"])

HEARTBEAT_S = 15.0  # a comment line after this long without a write keeps proxies from closing the stream
POLL_S = 0.05  # how often the stream looks for new events: never blocks the loop, and adds at most this lag
ROW_CHECK_S = 1.0  # how often a job with no events in memory is looked up in MySQL
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
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


def terminal_event(job: Job, event_id: int) -> JobEvent:
    """A finished job's last event, built from its row (as ``JobService`` publishes it)."""
    return JobEvent(id=event_id, kind=job.status, data=outcome_data(job))


async def off_loop(jobs: JobService, call, *args):
    """Events kept in MySQL (the distributed mode) are read on a worker thread; those in memory at once."""
    if getattr(jobs.events, "blocking", False):
        return await run_in_threadpool(call, *args)
    return call(*args)


async def _events(jobs: JobService, job: Job, after: int, previews: bool) -> AsyncIterator[str]:
    with ExitStack() as stack:
        if previews:
            stack.enter_context(jobs.previews.watching(job.id))
        wrote = time.monotonic()
        checked = None
        while True:
            if checked is None or time.monotonic() - checked >= ROW_CHECK_S:
                checked = time.monotonic()
                if not await off_loop(jobs, jobs.events.known, job.id):
                    # No events kept (a restart, or a log long forgotten): the row says whether it is over.
                    job = await run_in_threadpool(jobs.get, job.id)
                    if job.status in TERMINAL:
                        yield frame(terminal_event(job, after + 1))
                        return
            for event in await off_loop(jobs, jobs.events.since, job.id, after):
                after = event.id
                if event.kind == "preview" and not previews:
                    continue
                yield frame(event)
                wrote = time.monotonic()
                if event.kind in TERMINAL:
                    return
            if time.monotonic() - wrote >= HEARTBEAT_S:
                yield ": heartbeat\n\n"
                wrote = time.monotonic()
            await anyio.sleep(getattr(jobs.events, "poll_s", POLL_S))


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
    stream = _events(jobs, job, after, previews)
    return StreamingResponse(stream, media_type="text/event-stream", headers=SSE_HEADERS)
