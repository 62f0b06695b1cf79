"""A synchronous request waiting on a job run elsewhere reads the job's row at its end, not at every event."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import replace

import pytest

from core.clock import now
from core.exceptions import RequestAbandoned
from core.models import GenerationParams
from data.jobs import JobRecord
from service.jobs import views
from service.jobs.events import JobEvents
from service.jobs.views import JobViews

PARAMS = GenerationParams(prompt="a kite", negative_prompt="", seed=1, steps=8, guidance_scale=1.0, width=64, height=64)


class Rows:
    """The job's row as another process writes it; counts the reads."""

    def __init__(self, job_id: str) -> None:
        self.record = JobRecord(1, job_id, "running", PARAMS, 1, 1, created_at=now(), started_at=now())
        self.reads = 0

    def end(self) -> None:
        self.record = replace(self.record, status="cancelled", finished_at=now())

    def get(self, job_id: str) -> JobRecord:
        self.reads += 1
        return self.record

    def position(self, seq: int) -> int:
        return 0


@pytest.fixture
def job_id() -> str:
    return str(uuid.uuid4())


def build(rows: Rows, events: JobEvents) -> JobViews:
    return JobViews(repository=rows, images=None, events=events, progress=lambda job_id: None)


def run_elsewhere(rows: Rows, events: JobEvents, job_id: str, *, steps: int, end: bool = True) -> threading.Thread:
    def run() -> None:
        for step in range(1, steps + 1):
            time.sleep(0.01)
            events.publish(job_id, "progress", {"step": step, "steps": steps})
        if end:
            rows.end()
            events.publish(job_id, "cancelled", {}, final=True)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_progress_events_send_no_one_back_to_the_row(job_id, monkeypatch):
    monkeypatch.setattr(views, "AWAIT_POLL_S", 5.0)  # however slow this machine, the job ends within one interval
    rows, events = Rows(job_id), JobEvents()
    events.publish(job_id, "started")
    worker = run_elsewhere(rows, events, job_id, steps=20)
    with pytest.raises(views.KeyJobEnded):
        build(rows, events).wait(job_id, timeout=10)
    worker.join()
    assert rows.reads == 2, "the row is read once before waiting and once at the job's end"


def test_without_events_the_row_is_still_read_every_interval(job_id, monkeypatch):
    monkeypatch.setattr(views, "AWAIT_POLL_S", 0.05)
    rows, events = Rows(job_id), JobEvents()
    threading.Timer(0.3, rows.end).start()  # an end with no event
    started = time.monotonic()
    with pytest.raises(views.KeyJobEnded):
        build(rows, events).wait(job_id, timeout=10)
    assert time.monotonic() - started < 2
    assert rows.reads >= 3


def test_an_abandoned_wait_stops_while_events_flow(job_id, monkeypatch):
    monkeypatch.setattr(views, "AWAIT_POLL_S", 0.2)
    rows, events, gone = Rows(job_id), JobEvents(), threading.Event()
    worker = run_elsewhere(rows, events, job_id, steps=200, end=False)
    threading.Timer(0.1, gone.set).start()
    started = time.monotonic()
    with pytest.raises(RequestAbandoned):
        build(rows, events).wait(job_id, abandoned=gone, timeout=10)
    assert time.monotonic() - started < 1
    worker.join()
