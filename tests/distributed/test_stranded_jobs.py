"""Nothing stranded, nothing starved (issue 18, H2 and M2), on one API process and one worker.

Two ways to lose a task: the API process dies between the row's commit and the publish (played here by
writing the row as it would leave it), and a Redis broker restarted without persistence (played by
emptying its database while the only worker is down). The API's sweep sends such jobs again.

A synchronous request's job has a queue of its own, which the worker takes from in turn with the jobs
queue: it does not wait behind a backlog of POST /jobs.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import redis

from core.clock import now
from tests.conftest import outside_connection
from tests.distributed.conftest import Cluster, make_cluster, redis_url
from tests.distributed.helpers import submit, wait_finished

WORKER = "s1@test"
STRANDED_AFTER_S = 2


@pytest.fixture(scope="module")
def sweeping(database, tmp_path_factory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("stranded")
    extra = {"PIXY_STRANDED_AFTER_S": str(STRANDED_AFTER_S)}
    running = make_cluster(database, redis_url(), folder, apis=1, workers=[WORKER], **extra)
    yield running
    running.stop()


def crashed_before_publish(settings) -> str:
    """The row a killed API process leaves when it died after the commit, before the publish."""
    job_id = str(uuid.uuid4())
    params = {"prompt": "stranded", "negative_prompt": "", "seed": 4, "steps": 2, "guidance_scale": 1.0}
    params |= {"width": 64, "height": 64}
    with outside_connection(settings) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO jobs (id, status, params, n, images, created_at) VALUES (%s, 'queued', %s, 1, '[]', %s)",
            (job_id, json.dumps(params), now()),
        )
    return job_id


def test_a_job_whose_task_was_never_published_runs_after_the_grace_period(sweeping):
    job_id = crashed_before_publish(sweeping.settings)
    rows = wait_finished(sweeping.settings, [job_id], timeout=60)
    assert rows[job_id]["status"] == "succeeded" and len(rows[job_id]["images"]) == 1
    # The queue is truthful again: a new job is not behind a ghost.
    fresh = submit(sweeping.apis[0].url, "after the ghost")
    assert fresh["position"] in (0, None)
    wait_finished(sweeping.settings, [fresh["id"]])


@contextmanager
def paused(cluster: Cluster) -> Iterator[None]:
    """The worker frozen (SIGSTOP): registered, but taking no task until it goes on (SIGCONT)."""
    pid = cluster.workers[WORKER].process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def test_jobs_queued_on_a_redis_that_lost_its_data_still_end(sweeping):
    with paused(sweeping):
        accepted = [submit(sweeping.apis[0].url, f"lost {i}", steps=2) for i in range(4)]
        redis.Redis.from_url(redis_url()).flushdb()  # what a restart without persistence leaves of the queue
    rows = wait_finished(sweeping.settings, [job["id"] for job in accepted], timeout=120)
    assert {row["status"] for row in rows.values()} == {"succeeded"}
    assert all(row["attempts"] == 1 for row in rows.values())
    log = httpx.get(sweeping.apis[0].url + "/jobs", params={"status": "queued"}, timeout=10).json()
    assert log == []


def started_at(settings, ids: list[str]) -> dict[str, object]:
    with outside_connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT id, started_at FROM jobs WHERE id IN %(ids)s", {"ids": ids})
        return dict(cur.fetchall())


def test_a_synchronous_request_does_not_wait_behind_the_backlog_of_jobs(sweeping):
    answer: list[httpx.Response] = []
    body = {"prompt": "waited on", "steps": 2, "width": 64, "height": 64}
    waiting = threading.Thread(
        target=lambda: answer.append(httpx.post(sweeping.apis[0].url + "/image/", json=body, timeout=120))
    )
    with paused(sweeping):
        backlog = [submit(sweeping.apis[0].url, f"backlog {i}", steps=2)["id"] for i in range(12)]
        waiting.start()
        deadline = time.monotonic() + 30
        while not (mine := [j for j in sweeping_jobs(sweeping) if j["params"]["prompt"] == "waited on"]):
            assert time.monotonic() < deadline, "the synchronous request's job never appeared"
            time.sleep(0.1)
    waiting.join(120)
    assert answer and answer[0].status_code == 200, answer
    wait_finished(sweeping.settings, backlog, timeout=120)
    times = started_at(sweeping.settings, [*backlog, mine[0]["id"]])
    after_it = [job_id for job_id in backlog if times[job_id] > times[mine[0]["id"]]]
    # In one queue it would start after all 12; taken in turn, only the first few of the backlog go first.
    assert len(after_it) >= 6, f"the synchronous job started after {12 - len(after_it)} of 12 queued jobs"


def sweeping_jobs(cluster) -> list[dict]:
    return httpx.get(cluster.apis[0].url + "/jobs", params={"limit": 50}, timeout=10).json()
