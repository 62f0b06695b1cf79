"""The second red team's findings on jobs, through HTTP: each test failed before its fix."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import outside_connection
from tests.web.asgi import post_then_leave

FAST = {"steps": 1, "width": 64, "height": 64}


def wait_for(client, job_id: str, *statuses: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while (job := client.get(f"/jobs/{job_id}").json())["status"] not in statuses:
        assert time.monotonic() < deadline, f"job stayed {job['status']}"
        time.sleep(0.02)
    return job


def test_cors_preflight_allows_the_idempotency_and_resume_headers_and_exposes_location(make_client):
    client = make_client(pixy_cors_origins="http://gallery.local")
    preflight = client.options(
        "/jobs",
        headers={
            "Origin": "http://gallery.local",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "idempotency-key, last-event-id, content-type",
        },
    )
    assert preflight.status_code == 200
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "idempotency-key" in allowed and "last-event-id" in allowed
    created = client.post("/jobs", json={"prompt": "cors"} | FAST, headers={"Origin": "http://gallery.local"})
    assert "location" in created.headers["access-control-expose-headers"].lower()


def test_a_delete_that_loses_the_race_to_the_jobs_end_is_409_not_200(make_held_client):
    held = make_held_client()
    client, jobs = held.client, held.client.app.state.container.jobs
    job = client.post("/jobs", json={"prompt": "racing"} | FAST).json()
    held.wait_until_running()
    finished = threading.Event()

    def let_it_finish_first(job_id: str) -> None:
        # Between the DELETE's read (running) and its write, the job ends on its own.
        held.release()
        wait_for(client, job_id, "succeeded")
        finished.set()

    jobs.live.cancel = let_it_finish_first
    response = client.delete(f"/jobs/{job['id']}")
    assert finished.is_set()
    assert response.status_code == 409
    assert client.get(f"/jobs/{job['id']}").json()["status"] == "succeeded"


def test_ready_shows_devices_and_queue_depth_only_to_a_key_holder(make_client):
    client = make_client(pixy_api_keys="sesame")
    anonymous = client.get("/ready")
    assert anonymous.status_code == 200 and anonymous.json()["status"] == "ready"
    assert not {"device", "dtype", "queue_depth"} & set(anonymous.json())
    keyed = client.get("/ready", headers={"Authorization": "Bearer sesame"}).json()
    assert {"device", "dtype", "queue_depth"} <= set(keyed)
    wrong = client.get("/ready", headers={"Authorization": "Bearer nope"}).json()
    assert "device" not in wrong


def test_without_keys_ready_shows_everything(client):
    assert {"device", "dtype", "queue_depth"} <= set(client.get("/ready").json())


def test_a_503_under_an_idempotency_key_leaves_the_key_free_for_the_retry(make_held_client, settings):
    held = make_held_client(pixy_max_queue=1)
    client, container = held.client, held.client.app.state.container
    blocker = client.post("/jobs", json={"prompt": "blocker"} | FAST).json()
    held.wait_until_running()
    filler = client.post("/jobs", json={"prompt": "filler"} | FAST).json()
    held.wait_until_queued(1)
    # The busy check passes just before the queue fills: the refusal comes from the queue itself.
    container.jobs.intake.full = lambda: False
    key = {"Idempotency-Key": "retry-me"}
    refused = client.post("/image/", json={"prompt": "keyed", "seed": 3} | FAST, headers=key)
    assert refused.status_code == 503 and "retry-after" in refused.headers
    with outside_connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM idempotency_keys")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT COUNT(*) FROM jobs WHERE status = 'failed'")
        assert cur.fetchone()[0] == 0
    held.release()
    for job in (blocker, filler):
        wait_for(client, job["id"], "succeeded")
    retried = client.post("/image/", json={"prompt": "keyed", "seed": 3} | FAST, headers=key)
    assert retried.status_code == 200 and retried.json()["seed"] == 3


@pytest.mark.parametrize("keyed", [True, False])
def test_a_keyed_request_whose_client_left_still_runs_and_its_retry_gets_the_image(make_held_client, keyed):
    held = make_held_client()
    client = held.client
    blocker = client.post("/jobs", json={"prompt": "blocker"} | FAST).json()
    held.wait_until_running()
    headers = {"Idempotency-Key": "left-once"} if keyed else {}
    body = {"prompt": "left", "seed": 9} | FAST
    left = threading.Event()

    def leave_once_queued() -> bool:
        if held_queue(client) >= 1:
            left.set()
        return left.is_set()

    # The leaving client's request runs in its own thread: a keyed job it started goes on after it has gone.
    leaver = threading.Thread(
        target=post_then_leave,
        args=(client.app, "/image/", body),
        kwargs={"leave_when": leave_once_queued, "headers": headers},
    )
    leaver.start()
    assert left.wait(30)
    held.release()
    leaver.join(30)
    wait_for(client, blocker["id"], "succeeded")
    prompts = [job["status"] for job in client.get("/jobs").json() if job["params"]["prompt"] == "left"]
    if not keyed:
        assert prompts in ([], ["cancelled"])  # no retry can ask for it: a queued job is dropped, as before
        return
    retried = client.post("/image/", json=body, headers=headers)
    assert retried.status_code == 200, retried.text
    assert retried.json()["seed"] == 9
    assert len([image for image in client.get("/image/").json() if image["prompt"] == "left"]) == 1


def held_queue(client) -> int:
    return client.app.state.container.queue.queue_depth


def test_post_jobs_is_refused_past_the_queued_bound_and_accepted_at_it(make_held_client):
    held = make_held_client(pixy_max_queued_jobs=2)
    client = held.client
    running = client.post("/jobs", json={"prompt": "running"} | FAST)
    held.wait_until_running()
    at_bound = [client.post("/jobs", json={"prompt": f"queued {i}"} | FAST) for i in range(2)]
    assert [response.status_code for response in at_bound] == [202, 202]
    past = client.post("/jobs", json={"prompt": "one too many"} | FAST)
    assert past.status_code == 503 and int(past.headers["retry-after"]) > 0
    assert "PIXY_MAX_QUEUED_JOBS" in past.json()["detail"]
    assert [job["params"]["prompt"] for job in client.get("/jobs").json()].count("one too many") == 0
    held.release()
    for job in [running, *at_bound]:
        wait_for(client, job.json()["id"], "succeeded")
    assert client.post("/jobs", json={"prompt": "room again"} | FAST).status_code == 202


def test_waiting_synchronous_requests_leave_the_shared_threads_to_reads(make_held_client):
    waiting = 45  # more than the shared threadpool's 40 threads
    held = make_held_client(pixy_max_queue=waiting + 5)
    client = held.client
    posts = [
        threading.Thread(target=client.post, args=("/image/",), kwargs={"json": {"prompt": f"wait {i}"} | FAST})
        for i in range(waiting)
    ]
    for post in posts:
        post.start()
    held.wait_until_running()
    held.wait_until_queued(waiting - 1)
    answered: list[int] = []
    read = threading.Thread(target=lambda: answered.append(client.get("/image/").status_code))
    read.start()
    read.join(timeout=10)
    assert answered == [200], "a read waited behind the synchronous generations"
    held.release()
    for post in posts:
        post.join(timeout=60)


def test_a_busy_server_refuses_an_edit_before_decoding_its_uploads(make_held_client, monkeypatch):
    from tests.web.edit_inputs import noise_png
    from web.routes import openai_edits

    decoded: list[int] = []
    real = openai_edits.check_uploads
    monkeypatch.setattr(openai_edits, "check_uploads", lambda *a, **k: decoded.append(1) or real(*a, **k))
    held = make_held_client(pixy_max_queue=1)
    client = held.client
    client.post("/jobs", json={"prompt": "running"} | FAST)
    held.wait_until_running()
    client.post("/jobs", json={"prompt": "queued"} | FAST)
    held.wait_until_queued(1)
    upload = {"image": ("a.png", noise_png(64, 64), "image/png")}
    refused = client.post("/v1/images/edits", files=upload, data={"prompt": "edit"})
    assert refused.status_code == 503 and "retry-after" in refused.headers
    assert decoded == []
    held.release()
    deadline = time.monotonic() + 30
    while client.get("/jobs", params={"status": "queued"}).json() or held_queue(client):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.post("/v1/images/edits", files=upload, data={"prompt": "edit", "steps": "2"}).status_code == 200
    assert decoded == [1]
