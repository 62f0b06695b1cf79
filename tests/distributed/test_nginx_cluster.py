"""Debian's nginx with deploy/nginx.conf in front of two distributed API processes and two workers (issue 12).

In the distributed mode a job's events are in MySQL, so any API process streams any job: the streams, the
OpenAI stream's partial images and a cancel all go through nginx to whichever process least_conn picks.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.distributed.conftest import Cluster
from tests.distributed.helpers import images_with_prompt, iter_events, read_events, scalar_row, wait_finished
from tests.e2e.nginx import NGINX, Nginx, running_nginx

pytestmark = pytest.mark.skipif(
    not NGINX.exists(), reason="Debian's nginx is not installed (/usr/sbin/nginx); .ci/run installs it"
)
# Slow enough on the tiny model (about 1 s a job on a CPU core) for a stream to see steps before the end.
FOLLOWED = {"steps": 40, "width": 256, "height": 256}
LAST_PROGRESS = (
    "SELECT MAX(at), MAX(CAST(JSON_VALUE(data, '$.step') AS UNSIGNED)) FROM job_events "
    "WHERE job_id = %(id)s AND kind = 'progress'"
)


@pytest.fixture(scope="module")
def nginx(cluster: Cluster):
    with running_nginx([int(api.url.rsplit(":", 1)[1]) for api in cluster.apis]) as running:
        yield running


def follow(nginx: Nginx, job_id: str) -> tuple[list[dict], str]:
    """The job's SSE frames through nginx, and its status as read through nginx when the first progress came."""
    events, status = [], ""
    with (
        httpx.Client(base_url=nginx.url, timeout=60) as client,
        client.stream("GET", f"/jobs/{job_id}/events") as response,
    ):
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        for event in iter_events(response):
            events.append(event)
            if event["event"] == "progress" and not status:
                status = client.get(f"/jobs/{job_id}").json()["status"]
    return events, status


def test_jobs_through_nginx_land_on_both_api_processes_and_their_streams_show_progress_while_they_run(cluster, nginx):
    with httpx.Client(base_url=nginx.url, timeout=30) as client:
        ids = []
        for i in range(4):  # one at a time, nothing in flight: least_conn breaks the tie in turn
            response = client.post("/jobs", json={"prompt": f"through nginx {i}"} | FOLLOWED)
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
    with ThreadPoolExecutor(len(ids)) as pool:
        followed = dict(zip(ids, pool.map(lambda job_id: follow(nginx, job_id), ids), strict=True))
    rows = wait_finished(cluster.settings, ids)
    assert {row["status"] for row in rows.values()} == {"succeeded"}, [row["error"] for row in rows.values()]
    assert all(row["worker"] in cluster.workers for row in rows.values())  # which one: Celery's pick
    assert set(nginx.answered_by("/jobs")) == set(nginx.upstreams)  # the submissions went to both processes
    streamed_by = {job_id: nginx.answered_by(f"/jobs/{job_id}/events") for job_id in ids}
    assert all(len(upstreams) == 1 for upstreams in streamed_by.values()), streamed_by
    assert {upstreams[0] for upstreams in streamed_by.values()} == set(nginx.upstreams)
    for events, status_at_first_progress in followed.values():
        kinds = [event["event"] for event in events]
        assert kinds[:2] == ["queued", "started"] and kinds[-1] == "succeeded", kinds
        assert set(kinds[2:-1]) == {"progress"}, kinds
        steps = [event["data"]["step"] for event in events[2:-1]]
        assert steps == sorted(set(steps)) and steps[-1] == FOLLOWED["steps"], steps
        # The first step's event came while the job still ran, not with the rest once it had ended (buffered).
        assert status_at_first_progress == "running", "nginx held the progress events until the job ended"


def test_an_openai_stream_through_nginx_gets_its_partial_images_while_the_job_runs_and_holds_its_process(nginx):
    body = {"prompt": "openai through nginx", "stream": True, "partial_images": 2, "size": "256x256", "steps": 60}
    kinds, running, quick = [], None, [f"/jobs/{uuid.uuid4()}" for _ in range(4)]
    with (
        httpx.Client(base_url=nginx.url, timeout=60) as client,
        client.stream("POST", "/v1/images/generations", json=body) as response,
    ):
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        for event in iter_events(response):
            kinds.append((event["event"], event["data"].get("partial_image_index")))
            if event["event"] == "image_generation.partial_image" and running is None:
                running = client.get("/jobs", params={"status": "running"}).json()
                assert [client.get(path).status_code for path in quick] == [404] * len(quick)
    assert kinds == [
        ("image_generation.partial_image", 0),
        ("image_generation.partial_image", 1),
        ("image_generation.completed", None),
    ]
    # The first partial image came while the job still ran: the worker made it for a stream on an API process.
    assert [job["params"]["prompt"] for job in running] == [body["prompt"]], "nginx held the partial images"
    # least_conn: while the stream is open on one process, the requests beside it go to the other one.
    [streamed_by] = nginx.answered_by("/v1/images/generations")
    [idle] = [upstream for upstream in nginx.upstreams if upstream != streamed_by]
    assert [nginx.answered_by(path) for path in quick] == [[idle]] * len(quick)


def test_a_delete_through_nginx_stops_a_job_running_on_a_worker(cluster, nginx):
    prompt = "cancelled through nginx"  # 100 steps: about 2.5 s more after the DELETE, were it not stopped
    with httpx.Client(base_url=nginx.url, timeout=30) as client:
        job = client.post("/jobs", json={"prompt": prompt, "steps": 100, "width": 256, "height": 256}).json()
        deadline, seen = time.monotonic() + 60, {"status": "queued", "step": 0}
        while not (seen["status"] == "running" and seen["step"] >= 3):
            assert time.monotonic() < deadline and seen["status"] in ("queued", "running"), seen
            time.sleep(0.05)
            seen = client.get(f"/jobs/{job['id']}").json()
        cancelled = client.delete(f"/jobs/{job['id']}")
        deleted_at = time.time()
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        with client.stream("GET", f"/jobs/{job['id']}/events") as response:
            assert read_events(response)[-1]["event"] == "cancelled"
    [deleted_by] = [line for line in nginx.access_lines() if f'"DELETE /jobs/{job["id"]} ' in line]
    assert " 200 " in deleted_by and any(f"upstream={up} " in deleted_by for up in nginx.upstreams)
    row = wait_finished(cluster.settings, [job["id"]])[job["id"]]
    assert row["status"] == "cancelled" and row["images"] == [] and row["worker"] in cluster.workers
    time.sleep(1.5)  # a worker that ran on would go on reporting steps (a stream ends at cancelled: read MySQL)
    last_at, last_step = scalar_row(cluster.settings, LAST_PROGRESS, {"id": job["id"]})
    assert last_at < deleted_at + 1.0 and int(last_step) < 100, (last_step, last_at - deleted_at)
    assert images_with_prompt(cluster.settings, prompt) == 0
