"""Retention (issue 18, M7): finished jobs and settled deliveries past their days, and expired keys, go in
small batches; queued jobs, pending deliveries and every image stay."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from core.clock import now
from core.models import GenerationParams
from data.idempotency import KeyClaim
from data.jobs import MySQLJobRepository
from data.webhooks import WebhookDeliveryRepository
from service.bootstrap import bootstrap
from service.jobs import retention
from service.jobs.retention import Retention
from tests.conftest import outside_connection
from tests.fakes import FakeGenerator

PARAMS = GenerationParams(prompt="old", negative_prompt="", seed=1, steps=2, guidance_scale=1.0, width=64, height=64)
DAYS = 30


@pytest.fixture
def kept(pool) -> Retention:
    return Retention(
        jobs=MySQLJobRepository(pool), deliveries=WebhookDeliveryRepository(pool), job_days=DAYS, delivery_days=DAYS
    )


def job(pool, *, finished_days_ago: float | None, key: str | None = None, delivery: str | None = None) -> str:
    jobs, job_id = MySQLJobRepository(pool), str(uuid.uuid4())
    claim = None
    if key is not None:
        claim = KeyClaim(route="jobs", key_sha256=key * 64, body_sha256="b" * 64, expired_before=now() - timedelta(1))
    jobs.add(job_id, PARAMS, n=1, created_at=now() - timedelta(days=60), key=claim)
    if finished_days_ago is not None:
        jobs.finish(job_id, status="succeeded", at=now() - timedelta(days=finished_days_ago))
    if delivery is not None:
        deliveries = WebhookDeliveryRepository(pool)
        deliveries.add(job_id=job_id, url="http://hooks.local/x", payload="{}", at=now() - timedelta(days=40))
        with pool.transaction() as conn, conn.cursor() as cur:
            cur.execute("UPDATE webhook_deliveries SET status = %s WHERE job_id = %s", (delivery, job_id))
    return job_id


def count(settings, sql: str) -> int:
    with outside_connection(settings) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def test_finished_jobs_past_their_days_go_and_the_rest_stay(settings, pool, kept):
    minute = 1 / (24 * 60)
    past = job(pool, finished_days_ago=DAYS + minute)
    within = job(pool, finished_days_ago=DAYS - minute)
    queued = job(pool, finished_days_ago=None)
    assert kept.prune()["jobs"] == 1
    remaining = MySQLJobRepository(pool)
    assert remaining.get(past) is None
    assert remaining.get(within) is not None and remaining.get(queued) is not None


def test_settled_deliveries_go_and_pending_ones_stay(settings, pool, kept):
    delivered = job(pool, finished_days_ago=1, delivery="delivered")
    failed = job(pool, finished_days_ago=1, delivery="failed")
    pending = job(pool, finished_days_ago=1, delivery="pending")
    assert kept.prune()["deliveries"] == 2
    left = count(settings, "SELECT COUNT(*) FROM webhook_deliveries")
    assert left == 1
    with outside_connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT job_id FROM webhook_deliveries")
        assert cur.fetchone()[0] == pending
    assert {delivered, failed} <= {row.id for row in MySQLJobRepository(pool).list(limit=10)}


def test_expired_keys_go_without_their_jobs(settings, pool, kept):
    keyed = job(pool, finished_days_ago=1, key="k")
    with pool.transaction() as conn, conn.cursor() as cur:
        cur.execute("UPDATE idempotency_keys SET created_at = %s", (now() - timedelta(hours=25),))
    assert kept.prune()["keys"] == 1
    assert count(settings, "SELECT COUNT(*) FROM idempotency_keys") == 0
    assert MySQLJobRepository(pool).get(keyed) is not None


def test_images_are_never_pruned(settings, pool, kept):
    container = bootstrap(settings, generator=FakeGenerator())
    try:
        [image] = container.jobs.run({"prompt": "kept forever", "steps": 1})
    finally:
        container.close()
    with pool.transaction() as conn, conn.cursor() as cur:
        cur.execute("UPDATE jobs SET finished_at = %s", (now() - timedelta(days=365),))
        cur.execute("UPDATE images SET created_at = %s", (now() - timedelta(days=365),))
    assert kept.prune()["jobs"] == 1
    assert count(settings, "SELECT COUNT(*) FROM images") == 1
    assert count(settings, "SELECT COUNT(*) FROM jobs") == 0


def test_a_run_deletes_in_bounded_batches_and_the_next_run_finishes(settings, pool, kept, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 2)
    monkeypatch.setattr(retention, "MAX_BATCHES", 2)
    for _ in range(5):
        job(pool, finished_days_ago=DAYS + 1)
    assert kept.prune()["jobs"] == 4
    assert kept.prune()["jobs"] == 1
    assert count(settings, "SELECT COUNT(*) FROM jobs") == 0


def test_the_one_process_service_prunes_at_start_on_a_thread_of_its_own(settings, pool):
    old = job(pool, finished_days_ago=DAYS + 1)
    container = bootstrap(settings, generator=FakeGenerator())
    try:
        assert container.retention is not None
        container.retention._thread.join(timeout=0.5)  # its first run happens at once; then it sleeps
        deadline = now() + timedelta(seconds=10)
        while MySQLJobRepository(pool).get(old) is not None:
            assert now() < deadline, "the old job was not pruned at start"
    finally:
        container.close()
    assert not container.retention._thread.is_alive()
