"""A GPU worker's own Prometheus endpoint: what its observers hear, served by prometheus_client's server."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bench.server import free_port
from core.jobs import Job
from service.distributed.worker_metrics import WorkerMetrics


def finished(status: str) -> Job:
    created = datetime(2026, 1, 1, tzinfo=UTC)
    params = {"prompt": "p", "negative_prompt": "", "seed": 1, "steps": 2, "guidance_scale": 1.0}
    return Job(
        id="00000000-0000-4000-8000-000000000001",
        status=status,
        steps=2,
        created_at=created,
        started_at=created + timedelta(seconds=3),
        finished_at=created + timedelta(seconds=4),
        params=params | {"width": 64, "height": 64},
    )


@pytest.fixture
def metrics():
    served = WorkerMetrics()
    yield served
    served.close()


def test_a_scrape_sees_batches_and_job_outcomes_by_status(metrics):
    port = free_port()
    assert metrics.serve("127.0.0.1", port) is None
    observers = metrics.observers()
    observers.on_batch(0.4, 2)
    for status in ("succeeded", "succeeded", "failed", "cancelled"):
        observers.on_job(finished(status))
    metrics.watch(lambda: 3)
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert 'pixy_jobs_total{status="succeeded"} 2.0' in text
    assert 'pixy_jobs_total{status="failed"} 1.0' in text
    assert "pixy_job_cancellations_total 1.0" in text
    assert "pixy_generation_seconds_count 1.0" in text and 'pixy_generation_seconds_bucket{le="0.5"} 1.0' in text
    assert 'pixy_generation_batch_size_bucket{le="2.0"} 1.0' in text
    assert 'pixy_job_queue_wait_seconds_bucket{le="5.0"} 4.0' in text
    assert "pixy_queue_depth 3.0" in text


def test_port_zero_serves_nothing(metrics):
    assert metrics.serve("127.0.0.1", 0) is None and metrics.server is None


def test_a_taken_port_is_a_clear_problem(metrics):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        problem = metrics.serve("127.0.0.1", port)
    assert problem.startswith(f"PIXY_WORKER_METRICS_PORT={port}: cannot listen on 127.0.0.1:{port}")
