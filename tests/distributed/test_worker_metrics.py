"""Metrics in the distributed mode: a worker's own endpoint counts what it ran; an API process's ``/metrics``
counts every process's jobs per status from MySQL (issue 18)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from bench.server import free_port
from tests.conftest import outside_connection
from tests.distributed.conftest import Cluster, make_cluster
from tests.distributed.helpers import submit, wait_finished

WORKER = "m1@test"


@pytest.fixture(scope="module")
def measured(database, amqp, tmp_path_factory) -> Iterator[tuple[Cluster, int]]:
    """One API process and one worker exporting metrics on a port of its own."""
    port = free_port()
    folder = tmp_path_factory.mktemp("metrics")
    running = make_cluster(database, amqp, folder, apis=1, workers=[WORKER], PIXY_WORKER_METRICS_PORT=str(port))
    yield running, port
    running.stop()


def sample(text: str, name: str) -> float:
    """One sample's value (0 when absent: a labelled counter shows nothing until first counted)."""
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(found[1]) if found else 0.0


def test_the_worker_exports_its_generations_and_job_outcomes(measured):
    cluster, port = measured
    scrape = f"http://127.0.0.1:{port}/metrics"
    before = httpx.get(scrape, timeout=10).text
    jobs = [submit(cluster.apis[0].url, f"measured {i}", n=2) for i in range(2)]
    rows = wait_finished(cluster.settings, [job["id"] for job in jobs])
    assert {row["status"] for row in rows.values()} == {"succeeded"}
    after = httpx.get(scrape, timeout=10).text
    succeeded = 'pixy_jobs_total{status="succeeded"}'
    assert sample(after, succeeded) - sample(before, succeeded) == 2
    assert sample(after, "pixy_generation_seconds_count") > sample(before, "pixy_generation_seconds_count")
    assert sample(after, "pixy_generation_batch_size_sum") - sample(before, "pixy_generation_batch_size_sum") == 4
    assert sample(after, "pixy_job_queue_wait_seconds_count") - sample(before, "pixy_job_queue_wait_seconds_count") == 2
    # The API process ran none of them: its own counter stays silent, its per-status totals come from MySQL.
    api = httpx.get(cluster.apis[0].url + "/metrics", timeout=10).text
    assert sample(api, succeeded) == 0
    with outside_connection(cluster.settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status")
        in_mysql = dict(cur.fetchall())
    for status in ("queued", "running", "succeeded", "failed", "cancelled"):
        assert sample(api, f'pixy_jobs_stored{{status="{status}"}}') == in_mysql.get(status, 0), status


def test_a_worker_whose_metrics_port_is_taken_refuses_to_start(measured):
    cluster, port = measured
    second = cluster.start_worker("m2@test", PIXY_WORKER_METRICS_PORT=str(port))
    assert second.process.wait(timeout=60) == 2
    assert f"PIXY_WORKER_METRICS_PORT={port}: cannot listen" in second.tail()
