"""A 202 is a promise: jobs accepted before a kill -9 finish after the restart, each exactly once."""

from __future__ import annotations

import os
import signal
import time

import httpx

from bench.server import start_server, stop_server


def statuses(url: str, ids: list[str]) -> dict[str, dict]:
    return {job_id: httpx.get(f"{url}/jobs/{job_id}", timeout=10).json() for job_id in ids}


def test_jobs_accepted_before_a_kill_run_after_the_restart(settings, tmp_path):
    first = start_server(settings, tmp_path, log_name="before.log", PIXY_MAX_BATCH="1")
    try:
        ids = [
            httpx.post(
                f"{first.url}/jobs",
                json={"prompt": f"durable {i}", "steps": 100},
                timeout=10,
            ).json()["id"]
            for i in range(3)
        ]
        deadline = time.monotonic() + 30
        while statuses(first.url, ids[:1])[ids[0]]["status"] != "running":
            assert time.monotonic() < deadline, "the first job never started"
            time.sleep(0.02)
    finally:
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait()
    second = start_server(settings, tmp_path, log_name="after.log", PIXY_MAX_BATCH="1")
    try:
        # A bound on waiting, not a speed test: 300 steps on two cores that CI may share with other runs.
        deadline = time.monotonic() + 240
        while True:
            found = statuses(second.url, ids)
            if all(job["status"] == "succeeded" for job in found.values()):
                break
            assert time.monotonic() < deadline, {job_id: job["status"] for job_id, job in found.items()}
            assert not any(job["status"] in ("failed", "cancelled") for job in found.values()), found
            time.sleep(0.2)
        images = httpx.get(f"{second.url}/image/", timeout=10).json()
        assert sorted(image["prompt"] for image in images) == ["durable 0", "durable 1", "durable 2"]
        assert all(len(job["images"]) == 1 for job in found.values())
    finally:
        stop_server(second)
