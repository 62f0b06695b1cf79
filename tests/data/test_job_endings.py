"""Every way a job ends drops an edit's uploads with it, and a withdrawn job frees its Idempotency-Key."""

from __future__ import annotations

import uuid

import pytest

from core.clock import now
from core.models import GenerationParams
from data.idempotency import KeyClaim
from data.job_inputs import JobInputRepository
from data.job_leases import JobLeases
from data.jobs import MySQLJobRepository

PARAMS = GenerationParams(prompt="edit", negative_prompt="", seed=1, steps=2, guidance_scale=1.0, width=64, height=64)


@pytest.fixture
def jobs(pool) -> MySQLJobRepository:
    return MySQLJobRepository(pool)


def queued_edit(jobs: MySQLJobRepository, pool, *, key: KeyClaim | None = None) -> str:
    job_id = str(uuid.uuid4())
    inputs = JobInputRepository.writes(job_id, {"image0": b"png", "mask": b"mask"})
    jobs.add(job_id, PARAMS, n=1, created_at=now(), inputs=inputs, key=key)
    assert JobInputRepository(pool).get(job_id)
    return job_id


@pytest.mark.parametrize("status", ["cancelled", "failed", "succeeded"])
def test_finishing_a_job_drops_its_uploads(jobs, pool, status):
    job_id = queued_edit(jobs, pool)
    assert jobs.finish(job_id, status=status, at=now())
    assert JobInputRepository(pool).get(job_id) == {}


def test_a_job_finished_already_keeps_its_outcome_and_a_second_finish_changes_nothing(jobs, pool):
    job_id = queued_edit(jobs, pool)
    assert jobs.finish(job_id, status="succeeded", at=now())
    assert not jobs.finish(job_id, status="cancelled", at=now())
    assert jobs.get(job_id).status == "succeeded"


def test_cancelling_a_queued_job_for_a_client_that_left_drops_its_uploads(jobs, pool):
    job_id = queued_edit(jobs, pool)
    assert JobLeases(pool).cancel_queued(job_id, at=now())
    assert jobs.get(job_id).status == "cancelled"
    assert JobInputRepository(pool).get(job_id) == {}


def test_a_withdrawn_job_leaves_nothing_and_frees_its_key(jobs, pool):
    key = KeyClaim(route="image", key_sha256="k" * 64, body_sha256="b" * 64, expired_before=now())
    job_id = queued_edit(jobs, pool, key=key)
    assert jobs.withdraw(job_id)
    assert jobs.get(job_id) is None and JobInputRepository(pool).get(job_id) == {}
    again = str(uuid.uuid4())
    owner = jobs.add(again, PARAMS, n=1, created_at=now(), key=key)
    assert owner.job_id == again


def test_a_running_job_is_not_withdrawn(jobs, pool):
    job_id = queued_edit(jobs, pool)
    assert jobs.start(job_id, at=now())
    assert not jobs.withdraw(job_id)
    assert jobs.get(job_id).status == "running"
