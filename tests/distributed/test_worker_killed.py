"""kill -9 of a GPU worker mid-job on RabbitMQ: the other worker finishes its jobs, each exactly once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.distributed.conftest import Cluster, make_cluster
from tests.distributed.helpers import job_rows, scalar, submit, wait_finished

NAMES = ["k1@test", "k2@test"]


@pytest.fixture(scope="module")
def killable(database, amqp, tmp_path_factory) -> Iterator[Cluster]:
    running = make_cluster(database, amqp, tmp_path_factory.mktemp("killable"), apis=1, workers=NAMES)
    yield running
    running.stop()


def running_on(cluster: Cluster, ids: list[str]) -> str:
    """Wait until some job has run a few steps on a worker; that worker's name."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for job_id, row in job_rows(cluster.settings, ids).items():
            if row["status"] == "running":
                job = httpx.get(f"{cluster.apis[0].url}/jobs/{job_id}", timeout=10).json()
                if job["step"] >= 3:
                    return row["worker"]
        time.sleep(0.1)
    raise AssertionError(f"no job ran: {job_rows(cluster.settings, ids)}")


def test_a_worker_killed_mid_job_leaves_every_job_done_exactly_once_by_the_other(killable):
    jobs = [submit(killable.apis[0].url, f"killed {i}", steps=50, n=1 + i % 2, width=192, height=192) for i in range(6)]
    ids = [job["id"] for job in jobs]
    victim = running_on(killable, ids)
    killable.workers[victim].kill()
    at_kill = job_rows(killable.settings, ids).items()
    mid_job = [job_id for job_id, row in at_kill if (row["status"], row["worker"]) == ("running", victim)]
    assert mid_job, "the victim ran no job when it was killed"
    [survivor] = set(NAMES) - {victim}

    rows = wait_finished(killable.settings, ids, timeout=120)
    assert {row["status"] for row in rows.values()} == {"succeeded"}, [row["error"] for row in rows.values()]
    assert all(len(row["images"]) == row["n"] for row in rows.values())
    expected = sum(row["n"] for row in rows.values())
    assert scalar(killable.settings, "SELECT COUNT(*) FROM images") == expected  # no duplicate of a re-run job
    for job_id in mid_job:  # the killed worker's jobs ran once more, on the other worker
        assert (rows[job_id]["attempts"], rows[job_id]["worker"]) == (2, survivor)
    assert all(row["attempts"] == 1 for job_id, row in rows.items() if job_id not in mid_job)
    assert killable.workers[survivor].process.poll() is None
