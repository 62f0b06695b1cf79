"""Nothing stranded (issue 18, H2): a job accepted with a 202 always ends, even when its task was lost.

Two ways to lose a task: the API process dies between the row's commit and the publish (played here by
writing the row as it would leave it), and a Redis broker restarted without persistence (played by
emptying its database while the only worker is down). The API's sweep sends such jobs again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

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


def test_jobs_queued_on_a_redis_that_lost_its_data_still_end(sweeping):
    sweeping.workers[WORKER].stop()
    accepted = [submit(sweeping.apis[0].url, f"lost {i}", steps=2) for i in range(4)]
    redis.Redis.from_url(redis_url()).flushdb()  # what a restart without persistence leaves of the queue
    sweeping.start_worker(WORKER)
    sweeping.wait_workers([WORKER])
    rows = wait_finished(sweeping.settings, [job["id"] for job in accepted], timeout=120)
    assert {row["status"] for row in rows.values()} == {"succeeded"}
    assert all(row["attempts"] == 1 for row in rows.values())
    log = httpx.get(sweeping.apis[0].url + "/jobs", params={"status": "queued"}, timeout=10).json()
    assert log == []
