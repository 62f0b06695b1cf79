"""Jobs outlive the process: at start-up the composition root resumes what the last run left."""

from __future__ import annotations

import time
import uuid

from core.clock import now
from core.models import GenerationParams
from data.connection import Pool
from data.jobs import MySQLJobRepository
from service.bootstrap import bootstrap
from tests.fakes import FakeGenerator

PARAMS = GenerationParams(
    prompt="left over", negative_prompt="", seed=5, steps=3, guidance_scale=2.5, width=96, height=160
)


def left_over(settings, *, status: str, attempts: int) -> str:
    """A job row as a killed process leaves it."""
    pool = Pool(settings)
    jobs = MySQLJobRepository(pool)
    job_id = str(uuid.uuid4())
    jobs.add(job_id, PARAMS, n=1, created_at=now())
    for _ in range(attempts):
        jobs.requeue(job_id)
        jobs.start(job_id, at=now())
    if status == "queued":
        jobs.requeue(job_id)
    pool.close()
    return job_id


def wait_finished(container, job_id: str) -> dict:
    deadline = time.monotonic() + 20
    while (job := container.jobs.get(job_id)).status not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, f"{job_id} stayed {job.status}"
        time.sleep(0.02)
    return job


def test_queued_jobs_run_a_running_one_runs_once_more_and_a_twice_interrupted_one_fails(settings):
    queued = left_over(settings, status="queued", attempts=0)
    interrupted = left_over(settings, status="running", attempts=1)
    twice = left_over(settings, status="running", attempts=2)
    generator = FakeGenerator()
    container = bootstrap(settings, generator=generator)
    try:
        assert wait_finished(container, queued).status == "succeeded"
        resumed = wait_finished(container, interrupted)
        assert resumed.status == "succeeded" and [image.seed for image in resumed.images] == [5]
        failed = wait_finished(container, twice)
        assert failed.status == "failed" and "twice" in failed.error.detail
        assert len(generator.batches) == 2, "the twice-interrupted job was not run a third time"
    finally:
        container.close()
