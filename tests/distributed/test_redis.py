"""The shorter run on Redis (issue 12): two API processes and two workers, the broker a Redis database.

A dead worker's task comes back only after the visibility timeout here (10 s in these tests), and a job
that runs longer than that is delivered again while it runs: the jobs row keeps it to one run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.distributed.conftest import Cluster, make_cluster, redis_url
from tests.distributed.helpers import images_with_prompt, job_rows, read_events, submit, wait_finished

NAMES = ["r1@test", "r2@test"]
VISIBILITY_S = 10


@pytest.fixture(scope="module")
def on_redis(database, tmp_path_factory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("redis")
    extra = {"PIXY_REDIS_VISIBILITY_TIMEOUT": str(VISIBILITY_S)}
    running = make_cluster(database, redis_url(), folder, apis=2, workers=NAMES, **extra)
    yield running
    running.stop()


def test_jobs_spread_over_both_ports_succeed_on_both_workers_and_read_from_both(on_redis):
    a, b = on_redis.apis
    jobs = [submit((a, b)[i % 2].url, f"redis spread {i}", n=1 + i % 2) for i in range(8)]
    rows = wait_finished(on_redis.settings, [job["id"] for job in jobs])
    assert {row["status"] for row in rows.values()} == {"succeeded"}
    assert all(len(row["images"]) == row["n"] for row in rows.values())
    assert {row["worker"] for row in rows.values()} == set(NAMES)
    for guid in (guid for row in rows.values() for guid in row["images"]):
        contents = [httpx.get(f"{api.url}/image/{guid}/content", timeout=30) for api in (a, b)]
        assert [r.status_code for r in contents] == [200, 200] and contents[0].content == contents[1].content


def test_an_sse_stream_on_one_port_follows_a_job_submitted_on_the_other(on_redis):
    a, b = on_redis.apis
    job = submit(b.url, "redis followed", steps=20)
    with httpx.stream("GET", f"{a.url}/jobs/{job['id']}/events", timeout=60) as response:
        events = read_events(response)
    kinds = [e["event"] for e in events]
    assert kinds[:2] == ["queued", "started"] and kinds[-1] == "succeeded" and "progress" in kinds
    assert [int(e["id"]) for e in events] == list(range(1, len(events) + 1))


def test_a_killed_workers_job_comes_back_after_the_visibility_timeout_and_runs_once_more(on_redis):
    url = on_redis.apis[0].url
    jobs = [submit(url, f"redis killed {i}", steps=50, width=192, height=192) for i in range(4)]
    ids = [job["id"] for job in jobs]
    deadline = time.monotonic() + 60
    while not (running := [r for r in job_rows(on_redis.settings, ids).values() if r["status"] == "running"]):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    victim = running[0]["worker"]
    on_redis.workers[victim].kill()
    at_kill = job_rows(on_redis.settings, ids).items()
    mid_job = [job_id for job_id, row in at_kill if (row["status"], row["worker"]) == ("running", victim)]
    [survivor] = set(NAMES) - {victim}
    rows = wait_finished(on_redis.settings, ids, timeout=VISIBILITY_S + 60)
    assert {row["status"] for row in rows.values()} == {"succeeded"}
    assert mid_job and all(rows[job_id]["worker"] == survivor for job_id in mid_job)
    for job_id, row in rows.items():
        assert len(row["images"]) == row["n"] == 1
        assert row["attempts"] == (2 if job_id in mid_job else 1)
    assert all(images_with_prompt(on_redis.settings, f"redis killed {i}") == 1 for i in range(4))


def test_a_job_running_longer_than_the_visibility_timeout_is_delivered_again_but_not_run_again(on_redis):
    live = [worker for worker in on_redis.workers.values() if worker.process.poll() is None]
    marks = {worker.name: len(worker.tail(10**7)) for worker in live}

    def logs() -> str:
        return "".join(worker.tail(10**7)[marks[worker.name] :] for worker in live)

    url = on_redis.apis[0].url
    job = submit(url, "redis long", steps=100, n=4, width=512, height=512)  # far longer than the timeout
    deadline = time.monotonic() + VISIBILITY_S + 60
    while logs().count("] received") < 2 or "] retry: Retry in" not in logs():
        assert time.monotonic() < deadline, logs()
        time.sleep(0.2)
    # Delivered again while it ran: the copy saw the job running with a fresh heartbeat and only asked again.
    row = job_rows(on_redis.settings, [job["id"]])[job["id"]]
    assert (row["status"], row["attempts"]) == ("running", 1), row
    with httpx.stream("GET", f"{url}/jobs/{job['id']}/events", headers={"Last-Event-ID": "0"}, timeout=10) as stream:
        started = [e for e in read_events(stream, stop_after=3) if e["event"] == "started"]
    assert len(started) == 1
    assert httpx.delete(f"{url}/jobs/{job['id']}", timeout=10).json()["status"] == "cancelled"
    assert wait_finished(on_redis.settings, [job["id"]])[job["id"]]["images"] == []
