"""TaskExecution.execute against the real MySQL: a task's job runs once, however often, and on whichever worker.

Workers are built by ``bootstrap_worker`` itself, around the fake generator (no Celery: ``execute`` is
what a ``run_job`` task calls). Heartbeats are set to a minute, so no beat refreshes a lease mid-test.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.clock import now
from core.exceptions import ImageException
from core.models import GenerationParams
from service.distributed import row_watch
from service.distributed.bootstrap import bootstrap_worker
from service.distributed.execution import DONE, INTERRUPTED, LATER, RAN
from service.distributed.row_watch import CancelWatch
from tests.fakes import FakeGenerator

WAIT = 10


@pytest.fixture
def worker_settings(settings, raw):
    with raw.cursor() as cur:
        cur.execute("DELETE FROM nodes")
    yield settings.model_copy(update={"pixy_heartbeat_s": 60.0, "pixy_broker_url": "amqp://unused"})
    with raw.cursor() as cur:
        cur.execute("DELETE FROM nodes")


@pytest.fixture
def make_worker(worker_settings):
    """``make_worker(name)``: a worker's container over a fake generator of its own."""
    containers = []

    def build(name: str = "w1@test"):
        generator = FakeGenerator()
        settings = worker_settings.model_copy(update={"pixy_worker_name": name})
        container = bootstrap_worker(settings, generator=generator)
        containers.append((container, generator))
        return container.execution, generator

    yield build
    for container, generator in containers:
        generator.gate.set()
        container.close()


def add_job(jobs, *, steps: int = 3, n: int = 1) -> str:
    job_id = str(uuid.uuid4())
    p = GenerationParams(
        prompt="a kite", negative_prompt="", seed=5, steps=steps, guidance_scale=1.0, width=64, height=64
    )
    jobs.repository.add(job_id, p, n=n, created_at=now())
    return job_id


def row(raw, job_id: str) -> dict:
    with raw.cursor() as cur:
        cur.execute(
            "SELECT status, attempts, worker, images, error, started_at, finished_at, "
            "TIMESTAMPDIFF(MICROSECOND, heartbeat_at, UTC_TIMESTAMP(6)) / 1e6 AS idle_s FROM jobs WHERE id = %s",
            (job_id,),
        )
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone(), strict=True))


def stored_images(raw) -> int:
    with raw.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM images")
        return cur.fetchone()[0]


def held_by(raw, job_id: str, *, worker: str, attempts: int, idle_s: float) -> None:
    """The row as a worker that claimed the job ``idle_s`` seconds ago (by the database's clock) leaves it."""
    with raw.cursor() as cur:
        cur.execute(
            "UPDATE jobs SET status = 'running', attempts = %s, worker = %s, started_at = UTC_TIMESTAMP(6), "
            "heartbeat_at = UTC_TIMESTAMP(6) - INTERVAL %s MICROSECOND WHERE id = %s",
            (attempts, worker, int(idle_s * 1e6), job_id),
        )


def kinds(jobs, job_id: str) -> list[str]:
    return [event.kind for event in jobs.events.since(job_id)]


def test_a_queued_job_is_claimed_run_and_stored(make_worker, raw):
    jobs, generator = make_worker("w1@test")
    job_id = add_job(jobs)
    assert jobs.execute(job_id) == RAN
    job = row(raw, job_id)
    assert (job["status"], job["attempts"], job["worker"], job["error"]) == ("succeeded", 1, "w1@test", None)
    assert job["started_at"] <= job["finished_at"] and len(job["images"]) > 2 and stored_images(raw) == 1
    assert generator.batch_sizes == [1]
    events = jobs.events.since(job_id)
    assert [e.kind for e in events] == ["started", "progress", "progress", "succeeded"]
    assert [e.data["step"] for e in events[1:3]] == [1, 3]  # steps within 100 ms are thinned, the last kept
    assert jobs.running() == []


def test_a_job_already_ended_or_unknown_is_done_and_not_run(make_worker, raw):
    jobs, generator = make_worker()
    job_id = add_job(jobs)
    jobs.repository.finish(job_id, status="cancelled", at=now())
    assert jobs.execute(job_id) == DONE
    assert jobs.execute(str(uuid.uuid4())) == DONE
    assert generator.batches == [] and row(raw, job_id)["status"] == "cancelled"


def test_a_job_running_elsewhere_with_a_fresh_heartbeat_is_left_to_it(make_worker, raw):
    jobs, generator = make_worker("w1@test")
    job_id = add_job(jobs)
    held_by(raw, job_id, worker="w2@test", attempts=1, idle_s=1)
    assert jobs.execute(job_id) == LATER
    job = row(raw, job_id)
    assert (job["status"], job["attempts"], job["worker"]) == ("running", 1, "w2@test")
    assert generator.batches == [] and kinds(jobs, job_id) == []


def test_a_job_whose_worker_went_silent_runs_again_once(make_worker, raw):
    jobs, generator = make_worker("w1@test")
    job_id = add_job(jobs)
    held_by(raw, job_id, worker="dead@test", attempts=1, idle_s=jobs.lease_s + 1)
    assert jobs.execute(job_id) == RAN
    job = row(raw, job_id)
    assert (job["status"], job["attempts"], job["worker"]) == ("succeeded", 2, "w1@test")
    assert generator.batch_sizes == [1] and stored_images(raw) == 1


def test_a_job_whose_worker_went_silent_twice_fails_with_a_clear_error(make_worker, raw):
    jobs, generator = make_worker("w1@test")
    job_id = add_job(jobs)
    held_by(raw, job_id, worker="dead@test", attempts=2, idle_s=jobs.lease_s + 1)
    assert jobs.execute(job_id) == DONE
    job = row(raw, job_id)
    assert (job["status"], job["attempts"]) == ("failed", 2)
    assert "stopped, twice" in job["error"] and job["finished_at"] is not None
    assert generator.batches == [] and stored_images(raw) == 0
    failed = jobs.events.since(job_id)[-1]
    assert failed.kind == "failed" and "stopped, twice" in failed.data["detail"]


def test_a_cancel_written_to_the_row_stops_the_running_job_and_nothing_is_stored(make_worker, raw):
    jobs, generator = make_worker()
    job_id = add_job(jobs, steps=20)
    generator.gate.clear()
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(jobs.execute, job_id)
        assert generator.started.wait(WAIT)
        assert jobs.running() == [job_id]
        jobs.repository.finish(job_id, status="cancelled", at=now())  # what DELETE does on any API process
        time.sleep(row_watch.REFRESH_S * 2)
        generator.gate.set()
        assert running.result(timeout=WAIT) == RAN
    assert generator.stopped_at == [1]  # at the first step asked after the cancel was written
    job = row(raw, job_id)
    assert (job["status"], job["images"]) == ("cancelled", "[]") and stored_images(raw) == 0
    assert "succeeded" not in kinds(jobs, job_id)


def test_the_same_task_taken_twice_at_once_runs_the_job_once(make_worker, raw, monkeypatch):
    jobs, generator = make_worker()
    job_id = add_job(jobs)
    both_read = threading.Barrier(2, timeout=WAIT)
    read, seen_by_both = jobs.leases.state, []

    def state_then_wait(job_id: str):
        """Both takers see the job queued before either claims it: only the claim can tell them apart."""
        seen = read(job_id)
        seen_by_both.append(seen.status)
        both_read.wait()
        return seen

    monkeypatch.setattr(jobs.leases, "state", state_then_wait)
    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(jobs.execute, [job_id, job_id]))
    assert seen_by_both == ["queued", "queued"]
    assert outcomes == [LATER, RAN]
    assert generator.batch_sizes == [1] and stored_images(raw) == 1
    assert row(raw, job_id)["attempts"] == 1


def test_a_job_run_again_while_its_first_run_still_goes_stores_its_images_once(make_worker, raw):
    """Redis gives a task back after its visibility timeout even if its worker lives: both runs finish."""
    slow, slow_generator = make_worker("slow@test")
    other, other_generator = make_worker("other@test")
    job_id = add_job(slow)
    slow_generator.gate.clear()
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(slow.execute, job_id)
        assert slow_generator.started.wait(WAIT)
        held_by(raw, job_id, worker="slow@test", attempts=1, idle_s=slow.lease_s + 1)  # its beats stopped
        assert other.execute(job_id) == RAN  # runs again, ends the job, stores its image
        slow_generator.gate.set()
        assert first.result(timeout=WAIT) == RAN  # finishes too, but its end no longer applies
    job = row(raw, job_id)
    assert (job["status"], job["attempts"], job["worker"]) == ("succeeded", 2, "other@test")
    assert stored_images(raw) == 1 and job["images"].count("-") == 4  # one guid
    assert kinds(slow, job_id).count("succeeded") == 1


def test_a_stopping_worker_gives_the_job_back_to_the_queue(make_worker, raw):
    jobs, generator = make_worker()
    job_id = add_job(jobs)
    jobs.close()  # what a warm shutdown does before the task ends
    assert jobs.execute(job_id) == INTERRUPTED
    assert row(raw, job_id)["status"] == "queued" and generator.batches == []


def test_the_heartbeat_refreshes_the_lease_of_running_jobs_only(make_worker, raw):
    jobs, generator = make_worker("w1@test")
    mine, other = add_job(jobs), add_job(jobs)
    generator.gate.clear()
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(jobs.execute, mine)
        assert generator.started.wait(WAIT)
        for job_id in (mine, other):
            held_by(raw, job_id, worker="w1@test" if job_id == mine else "w2@test", attempts=1, idle_s=100)
        jobs.heartbeat()
        assert row(raw, mine)["idle_s"] < 5 and row(raw, other)["idle_s"] >= 100
        generator.gate.set()
        assert running.result(timeout=WAIT) == RAN


# -- CancelWatch: how a worker reads cancels written on any API process -------------------------------


class CountingLeases:
    """JobLeases' ``watch``, counted; ``away`` makes it raise as an unreachable database does."""

    def __init__(self, leases) -> None:
        self.leases, self.calls, self.away = leases, 0, False

    def watch(self, job_ids: list[str]) -> tuple[set[str], set[str]]:
        self.calls += 1
        if self.away:
            raise ImageException()
        return self.leases.watch(job_ids)


@pytest.fixture
def watch(make_worker):
    jobs, _ = make_worker()
    leases = CountingLeases(jobs.leases)
    return CancelWatch(leases), leases, jobs


def test_a_switch_reads_the_cancel_of_its_own_job_from_the_row(watch):
    cancels, _, jobs = watch
    first, second = add_job(jobs), add_job(jobs)
    switches = {job_id: cancels.switch(job_id) for job_id in (first, second)}
    assert not any(s.is_set() for s in switches.values())
    jobs.repository.finish(first, status="cancelled", at=now())
    time.sleep(row_watch.REFRESH_S * 2)
    assert switches[first].is_set() and not switches[second].is_set()


def test_cancel_reads_are_throttled_and_one_query_serves_every_job(watch):
    cancels, leases, jobs = watch
    switches = [cancels.switch(add_job(jobs)) for _ in range(3)]
    started = time.monotonic()
    while time.monotonic() - started < row_watch.REFRESH_S * 5:
        assert not any(s.is_set() for s in switches)
    assert 1 <= leases.calls <= 7  # about one query per REFRESH_S, however many steps and jobs ask


def test_a_local_cancel_needs_no_query_and_forget_drops_the_job(watch):
    cancels, leases, jobs = watch
    job_id = add_job(jobs)
    switch = cancels.switch(job_id)
    switch.set()
    assert switch.is_set() and leases.calls == 0
    jobs.repository.finish(job_id, status="cancelled", at=now())
    time.sleep(row_watch.REFRESH_S * 2)
    cancels.forget(job_id)
    assert not cancels.cancelled(job_id)  # no longer watched: its finished row is not this worker's concern


def test_a_database_away_reads_as_not_cancelled(watch):
    cancels, leases, jobs = watch
    job_id = add_job(jobs)
    switch = cancels.switch(job_id)
    leases.away = True
    time.sleep(row_watch.REFRESH_S * 2)
    assert not switch.is_set() and leases.calls == 1


def test_a_cancel_once_seen_stays_set_after_the_run_lets_go_of_the_job(watch):
    """The generator asks again after the job's run has forgotten it: the batch must still stop."""
    cancels, _, jobs = watch
    job_id = add_job(jobs)
    switch = cancels.switch(job_id)
    jobs.repository.finish(job_id, status="cancelled", at=now())
    time.sleep(row_watch.REFRESH_S * 2)
    assert switch.is_set()
    cancels.forget(job_id)
    assert switch.is_set()
