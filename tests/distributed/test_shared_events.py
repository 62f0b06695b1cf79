"""SharedJobEvents: a job's events in MySQL, for SSE streams on any API process of the distributed mode."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from core.clock import now
from core.models import GenerationParams
from data.connection import Pool
from data.job_events import JobEventLog
from data.jobs import MySQLJobRepository
from service.distributed import shared_events
from service.distributed.shared_events import SharedJobEvents
from service.jobs.events import KEEP_FINISHED_S


def params(steps: int = 4) -> GenerationParams:
    values = {"prompt": "a kite", "negative_prompt": "", "seed": 1, "steps": steps}
    return GenerationParams(**values | {"guidance_scale": 1.0, "width": 64, "height": 64})


@pytest.fixture
def pool(settings):
    pool = Pool(settings.model_copy(update={"db_pool_max": 16}))
    yield pool
    pool.close()


@pytest.fixture
def jobs(pool) -> MySQLJobRepository:
    return MySQLJobRepository(pool)


@pytest.fixture
def events(pool) -> SharedJobEvents:
    return SharedJobEvents(JobEventLog(pool))


def new_job(jobs: MySQLJobRepository) -> str:
    job_id = str(uuid.uuid4())
    jobs.add(job_id, params(), n=1, created_at=now())
    return job_id


def progress(step: int, steps: int = 10) -> dict:
    return {"step": step, "steps": steps, "progress": step / steps}


def test_each_job_counts_its_event_ids_from_one(events, jobs):
    first, second = new_job(jobs), new_job(jobs)
    published = [events.publish(first, "queued", {"position": 0}), events.publish(second, "queued")]
    published += [events.publish(first, "started"), events.publish(first, "succeeded", {"id": first}, final=True)]
    assert [(e.id, e.kind) for e in published] == [(1, "queued"), (1, "queued"), (2, "started"), (3, "succeeded")]
    stored = events.since(first)
    assert [(e.id, e.kind, e.data) for e in stored] == [
        (1, "queued", {"position": 0}),
        (2, "started", {}),
        (3, "succeeded", {"id": first}),
    ]
    assert [e.at for e in stored] == [published[i].at for i in (0, 2, 3)]  # each event's wall time, kept
    assert [e.id for e in events.since(second)] == [1]


def test_since_returns_only_the_events_after_the_id_given(events, jobs):
    job = new_job(jobs)
    for kind in ("queued", "started", "succeeded"):
        events.publish(job, kind)
    assert [e.id for e in events.since(job, 0)] == [1, 2, 3]
    assert [e.kind for e in events.since(job, 1)] == ["started", "succeeded"]
    assert events.since(job, 3) == []
    assert events.since(str(uuid.uuid4())) == []


def test_an_event_for_a_job_without_a_row_is_not_stored(events, jobs):
    ghost = str(uuid.uuid4())
    assert events.publish(ghost, "queued") is None
    assert events.since(ghost) == [] and not events.known(ghost)
    job = new_job(jobs)
    assert not events.known(job)
    events.publish(job, "queued")
    assert events.known(job)


def test_progress_is_written_at_most_every_interval_but_the_last_step_always(events, jobs):
    job = new_job(jobs)
    kept = [events.publish(job, "progress", progress(step)) for step in range(1, 10)]
    assert [e.data["step"] for e in kept if e is not None] == [1]  # steps 2..9 came within 100 ms of step 1
    assert events.publish(job, "progress", progress(10)) is not None  # the last step is never dropped
    time.sleep(shared_events.PROGRESS_EVERY_S + 0.02)
    assert events.publish(job, "progress", progress(3)) is not None  # an interval later: written
    assert [e.data["step"] for e in events.since(job)] == [1, 10, 3]


def test_the_throttle_is_per_job(events, jobs):
    first, second = new_job(jobs), new_job(jobs)
    assert events.publish(first, "progress", progress(1)) is not None
    assert events.publish(second, "progress", progress(1)) is not None  # another job: its own interval
    assert events.publish(first, "progress", progress(2)) is None
    assert events.publish(first, "started") is not None  # only progress is thinned


def test_wait_returns_an_event_published_meanwhile_and_nothing_after_its_timeout(events, jobs):
    job = new_job(jobs)
    events.publish(job, "queued")
    started = time.monotonic()
    assert events.wait(job, after=1, timeout=0.3) == []
    assert 0.25 < time.monotonic() - started < 2
    threading.Timer(0.2, lambda: events.publish(job, "started")).start()
    found = events.wait(job, after=1, timeout=5)
    assert [(e.id, e.kind) for e in found] == [(2, "started")]


def test_concurrent_appends_to_new_jobs_neither_deadlock_nor_share_ids(events, jobs):
    """API threads write each new job's queued event while workers write others': none may fail."""
    ids = [new_job(jobs) for _ in range(40)]

    def publish_three(job_id: str) -> list[int]:
        return [events.publish(job_id, kind).id for kind in ("queued", "started", "succeeded")]

    with ThreadPoolExecutor(8) as threads:
        assert list(threads.map(publish_three, ids)) == [[1, 2, 3]] * len(ids)


def test_appends_to_one_job_from_many_threads_take_consecutive_ids(events, jobs):
    job = new_job(jobs)
    with ThreadPoolExecutor(8) as threads:
        list(threads.map(lambda i: events.publish(job, "preview", {"i": i}), range(24)))
    assert [e.id for e in events.since(job)] == list(range(1, 25))
    assert sorted(e.data["i"] for e in events.since(job)) == list(range(24))


def test_purge_drops_the_events_of_jobs_finished_long_ago_only(events, jobs):
    old, recent, running = new_job(jobs), new_job(jobs), new_job(jobs)
    for job in (old, recent, running):
        events.publish(job, "queued")
    jobs.finish(old, status="succeeded", at=now() - timedelta(seconds=KEEP_FINISHED_S + 60))
    jobs.finish(recent, status="succeeded", at=now())
    events.purge()
    assert events.since(old) == []
    assert [len(events.since(job)) for job in (recent, running)] == [1, 1]


def test_waiting_readers_share_one_look_and_each_gets_its_own_event(events, jobs, monkeypatch):
    looks = []
    real = events.log.last_ids
    monkeypatch.setattr(events.log, "last_ids", lambda job_ids: looks.append(len(job_ids)) or real(job_ids))
    waited = [new_job(jobs) for _ in range(8)]
    for job in waited:
        events.publish(job, "queued")
    for i, job in enumerate(waited):
        threading.Timer(0.1 + 0.02 * i, lambda job=job: events.publish(job, "started", {"job": job})).start()
    started = time.monotonic()
    with ThreadPoolExecutor(len(waited)) as pool:
        found = list(pool.map(lambda job: events.wait(job, after=1, timeout=5), waited))
    elapsed = time.monotonic() - started
    assert [[(e.id, e.kind, e.data["job"]) for e in each] for each in found] == [[(2, "started", j)] for j in waited]
    assert elapsed < 1
    assert len(looks) <= elapsed / shared_events.WATCH_S + 2, "one look per interval, not one per reader"
    assert max(looks) > 1, "a look covers several readers' jobs"
