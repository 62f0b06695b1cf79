"""The jobs resource through HTTP: accepted at once, polled to the end, listed, and cancelled."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from web.app import create_app

FAST = {"steps": 1}


def wait_for(client, job_id: str, *statuses: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/jobs/{job_id}").json()
        if job["status"] in statuses:
            return job
        assert time.monotonic() < deadline, f"job stayed {job['status']}"
        time.sleep(0.02)


def test_a_job_is_accepted_at_once_and_ends_with_its_images(client):
    response = client.post("/jobs", json={"prompt": "a lighthouse", "seed": 7, "n": 2} | FAST)
    assert response.status_code == 202
    job = response.json()
    assert response.headers["location"] == f"/jobs/{job['id']}"
    assert job["status"] in ("queued", "running", "succeeded")
    assert (job["n"], job["params"]["seed"], job["params"]["prompt"]) == (2, 7, "a lighthouse")
    done = wait_for(client, job["id"], "succeeded")
    assert [image["seed"] for image in done["images"]] == [7, 8]
    assert (done["step"], done["steps"], done["progress"]) == (2, 2, 1.0)
    assert done["started_at"] and done["finished_at"] and done["error"] is None
    listed = {image["guid"] for image in client.get("/image/").json()}
    assert listed == {image["guid"] for image in done["images"]}


def test_jobs_are_listed_newest_first_and_filtered_by_status(client):
    ids = [client.post("/jobs", json={"prompt": f"job {i}"} | FAST).json()["id"] for i in range(3)]
    for job_id in ids:
        wait_for(client, job_id, "succeeded")
    assert [job["id"] for job in client.get("/jobs").json()] == ids[::-1]
    assert [job["id"] for job in client.get("/jobs", params={"limit": 1, "offset": 1}).json()] == [ids[1]]
    assert client.get("/jobs", params={"status": "queued"}).json() == []
    assert len(client.get("/jobs", params={"status": "succeeded"}).json()) == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "x", "n": 0}, "n"),
        ({"prompt": "x", "n": 5}, "n"),
        ({"prompt": "x", "n": "2"}, "n"),
        ({"prompt": "x", "webhook_url": "http://example.com/hook"}, "webhook_url"),
        ({"prompt": "x", "steps": 10_000}, "steps"),
        ({"prompt": ""}, "prompt"),
    ],
)
def test_bad_job_requests_are_422_naming_the_field_and_store_nothing(client, body, field):
    response = client.post("/jobs", json=body)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert client.get("/jobs").json() == []


def test_a_job_of_four_images_the_most_allowed_makes_all_four(client):
    response = client.post("/jobs", json={"prompt": "four", "n": 4, "width": 64, "height": 64} | FAST)
    assert response.status_code == 202, response.text
    assert len(wait_for(client, response.json()["id"], "succeeded")["images"]) == 4


AT_THE_CEILING = {"prompt": "costly", "steps": 5, "width": 200, "height": 200, "n": 2}  # 5 x 0.04 MP x 2 = 0.4


@pytest.mark.parametrize("past", [{"steps": 6}, {"n": 3}])
def test_a_job_over_the_cost_ceiling_is_422_naming_cost_and_one_at_it_runs(make_client, past):
    client = make_client(pixy_max_cost=0.4)
    over = client.post("/jobs", json=AT_THE_CEILING | past)
    assert over.status_code == 422 and over.json()["field"] == "cost", over.text
    assert client.get("/jobs").json() == []
    at = client.post("/jobs", json=AT_THE_CEILING)
    assert at.status_code == 202, at.text
    assert len(wait_for(client, at.json()["id"], "succeeded")["images"]) == 2


@pytest.mark.parametrize("job_id", [str(uuid.uuid4()), "not-a-uuid", "' OR 1=1 --", "x" * 300])
@pytest.mark.parametrize("method", ["get", "delete"])
def test_an_unknown_or_malformed_job_id_is_404(client, job_id, method):
    response = getattr(client, method)(f"/jobs/{job_id}")
    assert response.status_code == 404
    assert response.json()["detail"] == "job not found"


def test_a_bad_status_filter_is_422(client):
    assert client.get("/jobs", params={"status": "bogus"}).status_code == 422


def test_a_queued_job_cancelled_never_runs_and_a_finished_one_is_409(make_held_client):
    held = make_held_client(pixy_max_batch=1)
    first = held.client.post("/jobs", json={"prompt": "first"} | FAST).json()
    held.wait_until_running()
    second = held.client.post("/jobs", json={"prompt": "second"} | FAST).json()
    assert held.client.get(f"/jobs/{second['id']}").json()["position"] == 0
    cancelled = held.client.delete(f"/jobs/{second['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    held.release()
    assert wait_for(held.client, first["id"], "succeeded")["images"]
    time.sleep(0.3)
    assert [image["prompt"] for image in held.client.get("/image/").json()] == ["first"]
    assert held.client.get(f"/jobs/{second['id']}").json()["status"] == "cancelled"
    assert held.client.delete(f"/jobs/{first['id']}").status_code == 409
    assert held.client.delete(f"/jobs/{second['id']}").status_code == 409


class StepHeldGenerator:
    """The tiny generator, pausing after its first denoising step until the test lets it go on."""

    def __init__(self, inner) -> None:
        self.inner, self.info = inner, inner.info
        self.paused = threading.Event()
        self.go_on = threading.Event()
        self.steps_run: list[int] = []

    def generate(self, batch, *, on_step=None, should_stop=None):
        def step(done: int, steps: int) -> None:
            self.steps_run.append(done)
            if on_step:
                on_step(done, steps)
            if done == 1:
                self.paused.set()
                self.go_on.wait(timeout=30)

        return self.inner.generate(batch, on_step=step, should_stop=should_stop)


@pytest.fixture
def step_held(settings, tiny_generator):
    generator = StepHeldGenerator(tiny_generator)
    with TestClient(create_app(settings, generator=generator)) as client:
        yield client, generator
        generator.go_on.set()


def test_a_running_job_reports_its_step_and_an_eta(step_held):
    client, generator = step_held
    job = client.post("/jobs", json={"prompt": "slow", "steps": 8}).json()
    assert generator.paused.wait(timeout=30)
    running = client.get(f"/jobs/{job['id']}").json()
    assert (running["status"], running["step"], running["steps"]) == ("running", 1, 8)
    assert running["progress"] == 0.125 and running["eta_ms"] is not None and running["position"] is None
    generator.go_on.set()
    assert wait_for(client, job["id"], "succeeded")["step"] == 8


def test_a_running_job_cancelled_stops_at_its_next_step_and_stores_nothing(step_held):
    client, generator = step_held
    job = client.post("/jobs", json={"prompt": "doomed", "steps": 8}).json()
    assert generator.paused.wait(timeout=30)
    assert client.delete(f"/jobs/{job['id']}").json()["status"] == "cancelled"
    generator.go_on.set()
    time.sleep(0.5)
    assert generator.steps_run == [1], "the pipeline skipped every step after the cancel"
    assert client.get(f"/jobs/{job['id']}").json()["status"] == "cancelled"
    assert client.get("/image/").json() == []


def finished_jobs(client, statuses: list[str]) -> list[str]:
    """Jobs already ended with these statuses, written through the app's repository; ids newest first."""
    jobs = client.app.state.container.jobs
    params = jobs.intake.resolver.resolve({"prompt": "paged", "steps": 1})
    ids = []
    for status in statuses:
        at = datetime.now(UTC).replace(tzinfo=None)
        ids.append(str(uuid.uuid4()))
        times = {"created_at": at, "started_at": at, "finished_at": at}
        jobs.repository.add_finished(ids[-1], params, n=1, status=status, times=times, images=[], error=None)
    return ids[::-1]


def follow(client, url: str) -> tuple[list[str], list[str]]:
    """Every id along the Link rel="next" chain, and the X-Total-Count each page reported."""
    seen, totals = [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        seen += [job["id"] for job in response.json()]
        totals.append(response.headers["x-total-count"])
        link = response.headers.get("link")
        url = link[1 : link.index(">")] if link else None
    return seen, totals


@pytest.mark.parametrize("count", [5, 4])
def test_jobs_page_by_link_to_the_end_with_the_total_on_every_page(client, count):
    newest_first = finished_jobs(client, ["succeeded"] * count)
    seen, totals = follow(client, "/jobs?limit=2")
    assert seen == newest_first
    assert totals == [str(count)] * len(totals) and len(totals) == (count + 1) // 2  # no empty last page


def test_a_status_filter_is_counted_and_kept_in_the_next_link(client):
    statuses = ["succeeded", "failed", "succeeded", "failed", "failed"]
    newest_first = finished_jobs(client, statuses)
    failed = [job_id for job_id, status in zip(newest_first, statuses[::-1], strict=True) if status == "failed"]
    first = client.get("/jobs", params={"status": "failed", "limit": 1})
    assert first.headers["x-total-count"] == "3" and "status=failed" in first.headers["link"]
    assert client.get("/jobs").headers["x-total-count"] == "5"
    assert follow(client, "/jobs?status=failed&limit=2") == (failed, ["3", "3"])


def test_offset_and_before_still_page(client):
    newest_first = finished_jobs(client, ["succeeded"] * 4)
    by_offset = client.get("/jobs", params={"limit": 2, "offset": 1})
    assert [job["id"] for job in by_offset.json()] == newest_first[1:3]
    assert by_offset.headers["x-total-count"] == "4" and "cursor=" in by_offset.headers["link"]
    by_before = client.get("/jobs", params={"limit": 2, "before": newest_first[0]})
    assert [job["id"] for job in by_before.json()] == newest_first[1:3]
    assert client.get("/jobs", params={"before": str(uuid.uuid4())}).json() == []
    assert client.get("/jobs", params={"before": "not-a-job"}).status_code == 404


@pytest.mark.parametrize("cursor", ["nope", "cDA", "!!!!", "x" * 65])
def test_a_jobs_cursor_not_from_a_link_is_422(client, cursor):
    response = client.get("/jobs", params={"cursor": cursor})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "cursor"
