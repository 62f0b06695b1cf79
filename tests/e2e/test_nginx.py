"""A real nginx (Debian's package) with deploy/nginx.conf in front of real API processes.

least_conn is tested with two processes; that event streams pass unbuffered with one, since in embedded mode
a job's live events are only in the process that runs it.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from bench.server import Server, start_server
from tests.e2e.nginx import NGINX, running_nginx
from tests.e2e.test_job_events_server import read_events

pytestmark = pytest.mark.skipif(
    not NGINX.exists(), reason="Debian's nginx is not installed (/usr/sbin/nginx); .ci/run installs it"
)
SMALL = {"width": 64, "height": 64}


def port(server: Server) -> int:
    return int(server.url.rsplit(":", 1)[1])


def in_flight(server: Server) -> int:
    """Requests the process has begun and not ended, from its REQUEST START and END log lines."""
    lines = server.lines()
    return sum("REQUEST START" in line for line in lines) - sum("REQUEST END" in line for line in lines)


@pytest.fixture
def two_servers(settings, tmp_path):
    first = start_server(settings, tmp_path, log_name="api-a.log")
    try:
        second = start_server(settings, tmp_path, log_name="api-b.log")
    except BaseException:
        first.stop()
        raise
    yield first, second
    second.stop()
    first.stop()


def wait_for_one_busy(servers: tuple[Server, Server], timeout: float = 30) -> Server:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [server for server in servers if in_flight(server) > 0]
        if busy:
            assert len(busy) == 1, "a single slow request is in flight on both processes"
            return busy[0]
        time.sleep(0.02)
    raise AssertionError("the slow request never reached an API process")


def test_least_conn_sends_new_requests_past_the_process_busy_with_a_long_one(two_servers):
    a, b = two_servers
    with running_nginx([port(a), port(b)]) as nginx, httpx.Client(base_url=nginx.url, timeout=120) as client:
        address = {a.url: f"127.0.0.1:{port(a)}", b.url: f"127.0.0.1:{port(b)}"}
        with ThreadPoolExecutor(1) as pool:
            body = {"prompt": "a slow one", "steps": 12} | SMALL
            slow = pool.submit(httpx.post, f"{nginx.url}/image/", json=body, timeout=180)
            busy = wait_for_one_busy((a, b))
            quick = [f"/image/{uuid.uuid4()}" for _ in range(6)]
            for path in quick:
                assert client.get(path).status_code == 404
            still_running = in_flight(busy) > 0
            assert slow.result(timeout=180).status_code == 200
        idle = b if busy is a else a
        assert still_running, "the slow request ended before the quick ones were sent: make it slower"
        assert nginx.answered_by("/image/") == [address[busy.url]]
        # Round robin would have sent half of them to the busy process.
        assert [nginx.answered_by(path) for path in quick] == [[address[idle.url]]] * len(quick)
        # Nothing in flight: a tie, which nginx breaks in turn, so both processes answer.
        later = [f"/image/{uuid.uuid4()}" for _ in range(6)]
        for path in later:
            assert client.get(path).status_code == 404
        assert {nginx.answered_by(path)[0] for path in later} == set(address.values())


def test_job_events_pass_through_nginx_as_they_happen(server):
    with running_nginx([port(server)]) as nginx, httpx.Client(base_url=nginx.url, timeout=60) as client:
        job = client.post("/jobs", json={"prompt": "a kite", "steps": 40} | SMALL).json()
        with client.stream("GET", f"/jobs/{job['id']}/events") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            first = read_events(response, stop_after=4)
            status = client.get(f"/jobs/{job['id']}").json()["status"]
        assert [event["event"] for event in first] == ["queued", "started", "progress", "progress"]
        assert status == "running", "the first events came only once the job had ended: nginx buffered them"
        assert all(event["received"] - event["data"]["at"] < 1.0 for event in first[2:])
        assert client.delete(f"/jobs/{job['id']}").json()["status"] == "cancelled"


def test_an_openai_stream_passes_through_nginx_as_it_happens(server):
    with running_nginx([port(server)]) as nginx, httpx.Client(base_url=nginx.url, timeout=60) as client:
        body = {"prompt": "a kite", "stream": True, "partial_images": 1, "size": "64x64", "steps": 30}
        with client.stream("POST", "/v1/images/generations", json=body) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            [partial] = read_events(response, stop_after=1)
            running = client.get("/jobs", params={"status": "running"}).json()
        assert partial["event"] == "image_generation.partial_image"
        assert len(running) == 1, "the partial image came only once the job had ended: nginx buffered it"
        client.delete(f"/jobs/{running[0]['id']}")
