"""Concurrent clients against a bounded queue, and a kill -9 in the middle of generations."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from bench.server import start_server, stop_server


def post(url: str, **body) -> httpx.Response:
    return httpx.post(f"{url}/image/", json={"prompt": "burst"} | body, timeout=120)


def test_a_burst_beyond_the_queue_gets_503s_and_every_200_is_whole(settings, tmp_path):
    server = start_server(settings, tmp_path, PIXY_MAX_QUEUE="2")
    try:
        done = threading.Event()

        def read_while_busy() -> list[tuple[int, float]]:
            answers = []
            while not done.is_set():
                started = time.monotonic()
                status = httpx.get(f"{server.url}/image/", timeout=30).status_code
                answers.append((status, time.monotonic() - started))
                time.sleep(0.05)
            return answers

        with ThreadPoolExecutor(max_workers=1) as reader:
            reading = reader.submit(read_while_busy)
            with ThreadPoolExecutor(max_workers=12) as pool:
                responses = list(pool.map(lambda i: post(server.url, steps=40, seed=i), range(12)))
            done.set()
            reads = reading.result()
        assert reads and {status for status, _ in reads} == {200}
        list_times = [seconds for _, seconds in reads]

        ok = [r.json() for r in responses if r.status_code == 200]
        busy = [r for r in responses if r.status_code == 503]
        assert len(ok) + len(busy) == len(responses)
        assert len(ok) >= 3 and busy
        assert all(r.headers["retry-after"].isdigit() and "busy" in r.json()["detail"] for r in busy)
        assert len({d["guid"] for d in ok}) == len(ok)
        stored = httpx.get(f"{server.url}/image/", timeout=30).json()
        assert sorted(d["guid"] for d in stored) == sorted(d["guid"] for d in ok)
        for detail in ok:
            assert httpx.get(f"{server.url}/image/{detail['guid']}/content", timeout=30).status_code == 200
        assert list_times and max(list_times) < 1.0
    finally:
        stop_server(server)


def test_kill_9_mid_generation_leaves_no_half_written_image(settings, tmp_path):
    images = tmp_path / "images"
    server = start_server(settings, tmp_path, log_name="first.log")
    pool = ThreadPoolExecutor(max_workers=6)
    futures = [pool.submit(post, server.url, steps=40, seed=i) for i in range(6)]
    deadline = time.monotonic() + 60
    while not any(f.done() for f in futures) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)
    pool.shutdown(wait=True)

    orphan = images / f"{uuid.uuid4()}.png"
    orphan.write_bytes(b"content with no row")
    (images / f"{uuid.uuid4()}.png.tmp123.part").write_bytes(b"interrupted write")

    restarted = start_server(settings, tmp_path, log_name="second.log")
    try:
        rows = httpx.get(f"{restarted.url}/image/", timeout=30).json()
        assert rows, "at least the request that finished before the kill was stored"
        for row in rows:
            assert httpx.get(f"{restarted.url}/image/{row['guid']}/content", timeout=30).status_code == 200
        assert sorted(p.stem for p in images.glob("*.png")) == sorted(row["guid"] for row in rows)
        assert not list(images.glob("*.part"))
        assert any("orphaned" in line and orphan.stem in line for line in restarted.lines())
    finally:
        stop_server(restarted)
