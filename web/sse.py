"""A job's events as Server-Sent Events: the one loop that follows them, for every stream that answers them."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack
from typing import Any

import anyio
from starlette.concurrency import run_in_threadpool

from core.jobs import TERMINAL, Job, outcome_data
from service.jobs.events import JobEvent
from service.jobs.service import JobService

HEARTBEAT_S = 15.0  # a comment line after this long without a write keeps proxies from closing the stream
POLL_S = 0.05  # how often the stream looks for new events: never blocks the loop, and adds at most this lag
ROW_CHECK_S = 1.0  # how often a job with no events in memory is looked up in MySQL
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
HEARTBEAT = ": heartbeat\n\n"

# What a stream writes for one event: any number of frames, nothing for an event it does not show.
Render = Callable[[JobEvent], AsyncIterator[str]]


async def off_loop(jobs: JobService, call: Callable[..., Any], *args: Any) -> Any:
    """Events kept in MySQL (the distributed mode) are read on a worker thread; those in memory at once."""
    if getattr(jobs.events, "blocking", False):
        return await run_in_threadpool(call, *args)
    return call(*args)


def terminal_event(job: Job, event_id: int) -> JobEvent:
    """A finished job's last event, built from its row (as ``JobService`` publishes it)."""
    return JobEvent(id=event_id, kind=job.status, data=outcome_data(job))


async def _outcome_from_row(jobs: JobService, job_id: str, after: int) -> list[JobEvent]:
    job = await run_in_threadpool(jobs.get, job_id)
    return [terminal_event(job, after + 1)] if job.status in TERMINAL else []


async def _at_or_past_end(jobs: JobService, job_id: str, after: int) -> bool:
    seen = await off_loop(jobs, jobs.events.since, job_id, 0)
    return not seen or after >= seen[-1].id


async def follow(jobs: JobService, job_id: str, *, after: int, previews: bool, render: Render) -> AsyncIterator[str]:
    """The frames ``render`` makes of the job's events after ``after``, up to its outcome, and a heartbeat
    whenever nothing was written for ``HEARTBEAT_S``. Previews are made, and passed on, only with ``previews``."""
    with ExitStack() as stack:
        if previews:
            stack.enter_context(jobs.previews.watching(job_id))
        wrote, checked = time.monotonic(), None
        # A client resuming at or past the log's end (its Last-Event-ID) may wait for an id that never comes.
        past_end = after > 0 and await _at_or_past_end(jobs, job_id, after)
        while True:
            events: list[JobEvent] = []
            if checked is None or time.monotonic() - checked >= ROW_CHECK_S:
                checked = time.monotonic()
                if past_end or not await off_loop(jobs, jobs.events.known, job_id):
                    # No events kept (a restart, or a log long forgotten), or none to come after the client's
                    # last: the row says whether it is over.
                    events = await _outcome_from_row(jobs, job_id, after)
            for event in events or await off_loop(jobs, jobs.events.since, job_id, after):
                after = event.id
                if event.kind == "preview" and not previews:
                    continue
                async for text in render(event):
                    yield text
                    wrote = time.monotonic()
                if event.kind in TERMINAL:
                    return
            if time.monotonic() - wrote >= HEARTBEAT_S:
                yield HEARTBEAT
                wrote = time.monotonic()
            await anyio.sleep(getattr(jobs.events, "poll_s", POLL_S))
