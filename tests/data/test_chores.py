"""One process at a time holds a chore; another takes it over once the lease lapses."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

from core.clock import now
from core.models import GenerationParams
from data.chores import ChoreLeases
from data.job_leases import JobLeases
from data.jobs import MySQLJobRepository

PARAMS = GenerationParams(
    prompt="kite", negative_prompt="", seed=1, steps=2, guidance_scale=1.0, width=64, height=64, model="tiny-xl"
)


def test_a_chore_is_held_by_one_process_until_its_lease_lapses(pool):
    chores = ChoreLeases(pool)
    name = f"chore-{uuid.uuid4()}"
    assert chores.hold(name, holder="api-1", for_s=0.5)
    assert not chores.hold(name, holder="api-2", for_s=0.5)
    assert chores.hold(name, holder="api-1", for_s=0.5)  # its holder renews it
    time.sleep(0.6)
    assert chores.hold(name, holder="api-2", for_s=5)
    assert not chores.hold(name, holder="api-1", for_s=5)


def test_of_many_processes_asking_at_once_exactly_one_holds_the_chore(pool):
    chores = ChoreLeases(pool)
    name = f"chore-{uuid.uuid4()}"
    start = threading.Barrier(8)
    held: list[str] = []

    def ask(holder: str) -> None:
        start.wait()
        if chores.hold(name, holder=holder, for_s=30):
            held.append(holder)

    threads = [threading.Thread(target=ask, args=(f"api-{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(held) == 1


def test_stranded_jobs_are_the_old_queued_ones_and_those_of_silent_workers(pool):
    jobs, leases = MySQLJobRepository(pool), JobLeases(pool)
    old = now() - timedelta(minutes=5)
    ids = {name: str(uuid.uuid4()) for name in ("queued", "fresh", "alive", "silent", "done")}
    for name, job_id in ids.items():
        jobs.add(job_id, PARAMS, n=1, created_at=now() if name == "fresh" else old)
    for name in ("alive", "silent"):
        assert leases.claim(ids[name], worker="w1", at=now())
    with pool.transaction() as conn, conn.cursor() as cur:
        cur.execute("UPDATE jobs SET heartbeat_at = UTC_TIMESTAMP(6) - INTERVAL 1 HOUR WHERE id = %s", ids["silent"])
    jobs.finish(ids["done"], status="succeeded", at=now())
    before = now() - timedelta(minutes=1)
    assert {job for job, _ in jobs.stranded(before=before, lease_s=15, limit=100)} == {ids["queued"], ids["silent"]}
    jobs.mark_republished([ids["queued"]], at=now())
    assert jobs.stranded(before=before, lease_s=15, limit=100) == [(ids["silent"], "tiny-xl")]
    assert len(jobs.stranded(before=now() + timedelta(minutes=1), lease_s=15, limit=1)) == 1
