"""A client that gives up: its queued generation never runs, nothing is stored, and others go on."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from tests.web.asgi import post_then_leave
from tests.web.test_jobs import StepHeldGenerator
from web.app import create_app

TINY = {"steps": 1, "width": 64, "height": 64}


@pytest.mark.parametrize(
    ("path", "body"),
    [("/image/", {"prompt": "abandoned"} | TINY), ("/v1/images/generations", {"prompt": "abandoned", "n": 2})],
)
def test_a_queued_request_whose_client_left_never_runs_and_stores_nothing(make_held_client, path, body):
    held = make_held_client()
    worker = held.client.app.state.container.queue
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(held.client.post, "/image/", json={"prompt": "first"} | TINY)
        held.wait_until_running()
        statuses = post_then_leave(held.client.app, path, body, leave_when=lambda: worker.queue_depth > 0)
        assert statuses == [499]
        assert worker.queue_depth == 0, "the abandoned request still holds a place in the queue"
        held.release()
        assert first.result(timeout=30).status_code == 200
    assert [image["prompt"] for image in held.client.get("/image/").json()] == ["first"]
    assert "pixy_generation_batch_size_count 1.0" in held.client.get("/metrics").text
    assert held.client.post("/image/", json={"prompt": "after"} | TINY).status_code == 200


def test_a_request_over_the_cost_ceiling_is_refused_naming_cost(make_client):
    client = make_client(pixy_max_cost=0.5)
    over = client.post("/image/", json={"prompt": "a field", "steps": 10, "width": 256, "height": 256})
    assert over.status_code == 422 and over.json()["field"] == "cost"
    assert "PIXY_MAX_COST" in over.json()["detail"]
    openai = client.post("/v1/images/generations", json={"prompt": "a field", "n": 4, "size": "128x128", "steps": 10})
    assert openai.status_code == 400 and openai.json()["error"]["param"] == "cost"
    assert client.post("/image/", json={"prompt": "a field"} | TINY).status_code == 200
    assert len(client.get("/image/").json()) == 1


def wait_until(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


STREAM = {"prompt": "streamed", "stream": True, "size": "64x64"}


def test_an_openai_stream_dropped_while_its_job_is_queued_cancels_the_job(make_held_client):
    held = make_held_client()
    worker = held.client.app.state.container.queue
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(held.client.post, "/image/", json={"prompt": "first"} | TINY)
        held.wait_until_running()
        body = STREAM | {"n": 2, "steps": 1}
        leave = lambda: worker.queue_depth > 0  # noqa: E731
        statuses = post_then_leave(held.client.app, "/v1/images/generations", body, leave_when=leave)
        assert statuses == [200]  # the stream had begun: its job was queued, not refused
        wait_until(lambda: worker.queue_depth == 0, "the dropped stream's job still holds a place in the queue")
        [job] = held.client.get("/jobs", params={"status": "cancelled"}).json()
        assert job["params"]["prompt"] == "streamed" and job["images"] == []
        held.release()
        assert first.result(timeout=30).status_code == 200
    assert [image["prompt"] for image in held.client.get("/image/").json()] == ["first"]
    assert "pixy_generation_batch_size_count 1.0" in held.client.get("/metrics").text  # it never ran


def test_an_openai_stream_dropped_while_its_job_runs_lets_it_finish_and_store(settings, tiny_generator):
    generator = StepHeldGenerator(tiny_generator)
    with TestClient(create_app(settings, generator=generator)) as client:
        try:
            body, leave = STREAM | {"steps": 4}, generator.paused.is_set
            assert post_then_leave(client.app, "/v1/images/generations", body, leave_when=leave) == [200]
        finally:
            generator.go_on.set()
        [job] = client.get("/jobs").json()
        wait_until(lambda: client.get(f"/jobs/{job['id']}").json()["status"] != "running", "the job never ended")
        done = client.get(f"/jobs/{job['id']}").json()
        assert done["status"] == "succeeded" and generator.steps_run == [1, 2, 3, 4]
        assert [image["guid"] for image in client.get("/image/").json()] == [done["images"][0]["guid"]]
