"""POST /image/ and /v1 are jobs that the request awaits: listed under /jobs, and kept if the client leaves."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from tests.web.test_abandoned_requests import TINY, post_then_leave


def test_a_synchronous_image_is_a_succeeded_job(client):
    detail = client.post("/image/", json={"prompt": "a sync owl"} | TINY).json()
    [job] = client.get("/jobs").json()
    assert (job["status"], job["n"], job["params"]["prompt"]) == ("succeeded", 1, "a sync owl")
    assert [image["guid"] for image in job["images"]] == [detail["guid"]]
    client.post("/v1/images/generations", json={"prompt": "two", "n": 2, "size": "64x64", "steps": 1})
    assert [len(job["images"]) for job in client.get("/jobs").json()] == [2, 1]


def test_a_client_that_leaves_while_its_image_is_made_still_gets_it_in_the_history(make_held_client):
    held = make_held_client()
    left = threading.Event()

    def leave_once_running() -> bool:
        if held.generator.started.acquire(blocking=False):
            left.set()
        return left.is_set()

    with ThreadPoolExecutor(1) as pool:
        statuses = pool.submit(
            post_then_leave, held.client.app, "/image/", {"prompt": "kept"} | TINY, leave_when=leave_once_running
        )
        assert left.wait(timeout=30)
        time.sleep(0.3)  # the route has seen the disconnect while the image is being made
        held.release()
        assert statuses.result(timeout=30) == [200]
    assert [image["prompt"] for image in held.client.get("/image/").json()] == ["kept"]
    assert held.client.get("/jobs").json()[0]["status"] == "succeeded"


def test_a_full_queue_is_refused_before_a_job_is_written(make_held_client):
    held = make_held_client(pixy_max_queue=0, pixy_max_batch=1)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(held.client.post, "/image/", json={"prompt": "first"} | TINY)
        held.wait_until_running()
        busy = held.client.post("/image/", json={"prompt": "refused"} | TINY)
        assert busy.status_code == 503 and busy.headers["retry-after"]
        held.release()
        assert first.result(timeout=30).status_code == 200
    assert [job["params"]["prompt"] for job in held.client.get("/jobs").json()] == ["first"]


def test_metrics_count_jobs_by_status_cancellations_and_queue_wait(make_held_client):
    held = make_held_client(pixy_max_batch=1)
    first = held.client.post("/jobs", json={"prompt": "first"} | TINY).json()
    held.wait_until_running()
    second = held.client.post("/jobs", json={"prompt": "second"} | TINY).json()
    held.client.delete(f"/jobs/{second['id']}")
    held.release()
    deadline = time.monotonic() + 30
    while held.client.get(f"/jobs/{first['id']}").json()["status"] != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    # The row says succeeded when the images commit; the listeners (metrics) hear of it just after.
    while 'pixy_jobs_total{status="succeeded"} 1.0' not in (text := held.client.get("/metrics").text):
        assert time.monotonic() < deadline, text
        time.sleep(0.02)
    assert 'pixy_jobs_total{status="cancelled"} 1.0' in text
    assert "pixy_job_cancellations_total 1.0" in text
    assert "pixy_job_queue_wait_seconds_count 1.0" in text
