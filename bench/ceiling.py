"""The service's own ceiling: a stand-in generator that answers at once (bench/photo_generator.py), so what is
measured is everything else: HTTP, the job path, PNG encoding, the content store and MySQL.

- ``ceiling_images_per_s_c16``: ``POST /image/`` from 16 clients, micro-batches of 8, disk storage;
- ``server_cpu_ms_per_image_512``: the server process's CPU time (utime + stime) over that run, per image;
- ``ceiling_jobs_images_per_s_c16``: 16 clients each ``POST /jobs``, then follow the job's events to its end;
- ``distributed_ceiling_images_per_s_c16``: ``POST /image/`` from 16 clients on one API process and one
  stand-in worker over RabbitMQ (a vhost of its own; ``PIXY_STORAGE=mysql``, as the distributed mode runs).

Each figure is the median over rounds; the local figures alternate within a round.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench import DATABASES, PROMPT
from bench.load import Load, median, run_load
from bench.scale_cluster import broker_url
from bench.server import Server

CONCURRENCY = 16
BATCH = 8
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far, from /proc (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def post_image(client: httpx.Client, i: int) -> httpx.Response:
    return client.post("/image/", json={"prompt": f"{PROMPT} {i}", "seed": i})


def job_to_end(client: httpx.Client, i: int) -> httpx.Response:
    """``POST /jobs``, then its event stream until the job's outcome; answers with the outcome's status."""
    accepted = client.post("/jobs", json={"prompt": f"{PROMPT} {i}", "seed": i})
    if accepted.status_code != 202:
        return accepted
    with client.stream("GET", f"/jobs/{accepted.json()['id']}/events") as events:
        kind = None
        for line in events.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind in ("succeeded", "failed", "cancelled"):
                status = 200 if kind == "succeeded" and json.loads(line[6:])["images"] else 500
                return httpx.Response(status, headers=accepted.headers)
    return httpx.Response(500)


def measured(server: Server, request, count: int, *, also: int | None = None) -> tuple[Load, float, float]:
    """The load, the server's CPU ms per 2xx answer over it, and that of process ``also`` (a worker)."""
    before = cpu_seconds(server.process.pid), cpu_seconds(also) if also else 0.0
    load = run_load(server.url, CONCURRENCY, request, count=count)
    after = cpu_seconds(server.process.pid), cpu_seconds(also) if also else 0.0
    ok = max(load.ok, 1)
    return load, 1000 * (after[0] - before[0]) / ok, 1000 * (after[1] - before[1]) / ok


ENV = {
    "PIXY_MAX_BATCH": str(BATCH), "PIXY_MAX_QUEUE": str(2 * CONCURRENCY), "PIXY_BATCH_WAIT_MS": "0",
    "PIXY_API_KEYS": "", "PIXY_CORS_ORIGINS": "", "PIXY_LOG_LEVEL": "INFO",
}  # fmt: skip


def local(bench, rounds: int, count: int) -> None:
    """``POST /image/`` and ``POST /jobs`` on one stand-in server, alternating, ``rounds`` times."""
    env = ENV | {"DB_NAME": DATABASES["ceiling"], "PIXY_STORAGE": "disk"}
    server = bench.serve("ceiling", argv=[sys.executable, "-m", "bench.photo_server"], **env)
    measured(server, post_image, 2 * CONCURRENCY)  # warm: connections, threads, the first encodes
    measured(server, job_to_end, CONCURRENCY)
    images, jobs, cpu, jobs_cpu = [], [], [], []
    for r in range(rounds):
        for name in ("images", "jobs") if r % 2 == 0 else ("jobs", "images"):
            load, ms, _ = measured(server, post_image if name == "images" else job_to_end, count)
            bench.errors += load.errors
            (images if name == "images" else jobs).append(load.rate)
            (cpu if name == "images" else jobs_cpu).append(ms)
        print(f"  round {r + 1}: /image/ {images[-1]:.1f}/s ({cpu[-1]:.1f} ms CPU each), /jobs {jobs[-1]:.1f}/s")
    png = httpx.get(f"{server.url}/image/", params={"limit": 1}).json()[0]["guid"]
    bench.result |= {
        "ceiling_images_per_s_c16": median(images),
        "ceiling_images_per_s_c16_rounds": [round(x, 1) for x in images],
        "server_cpu_ms_per_image_512": median(cpu),
        "server_cpu_ms_per_image_512_rounds": [round(x, 2) for x in cpu],
        "ceiling_jobs_images_per_s_c16": median(jobs),
        "ceiling_jobs_images_per_s_c16_rounds": [round(x, 1) for x in jobs],
        "ceiling_jobs_server_cpu_ms_per_image": median(jobs_cpu),
        "ceiling_png_bytes": len(httpx.get(f"{server.url}/image/{png}/content").content),
        "ceiling_requests_per_measurement": count,
    }
    server.stop()


def distributed(bench, rounds: int, count: int) -> None:
    """One API process and one stand-in worker on RabbitMQ; ``POST /image/`` from 16 clients."""
    env = ENV | {"DB_NAME": DATABASES["ceiling_distributed"], "PIXY_STORAGE": "mysql", "PIXY_BROKER_URL": broker_url()}
    env |= {"PIXY_MODEL": "tiny", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    api = bench.serve("ceiling-api", **env)
    worker_log = (bench.tmp / "ceiling-worker.log").open("ab")
    command = [sys.executable, "-m", "bench.photo_worker"]
    worker = subprocess.Popen(command, env=os.environ | env, stdout=worker_log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while httpx.get(api.url + "/ready").json().get("workers") != 1:
            if time.monotonic() > deadline or worker.poll() is not None:
                raise RuntimeError(f"the stand-in worker did not come up; see {bench.tmp}/ceiling-worker.log")
            time.sleep(0.2)
        measured(api, post_image, 2 * CONCURRENCY)
        rates, api_ms, worker_ms = [], [], []
        for r in range(rounds):
            load, api_cpu, worker_cpu = measured(api, post_image, count, also=worker.pid)
            bench.errors += load.errors
            rates.append(load.rate)
            api_ms.append(api_cpu)
            worker_ms.append(worker_cpu)
            cpu = f"CPU ms each: API {api_cpu:.1f}, worker {worker_cpu:.1f}"
            print(f"  round {r + 1}: distributed /image/ {rates[-1]:.1f}/s ({cpu})")
        bench.result |= {
            "distributed_ceiling_images_per_s_c16": median(rates),
            "distributed_ceiling_images_per_s_c16_rounds": [round(x, 1) for x in rates],
            "distributed_api_cpu_ms_per_image": median(api_ms),
            "distributed_worker_cpu_ms_per_image": median(worker_ms),
        }
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        api.stop()


def encoders(bench, repeat: int = 30) -> None:
    """fpng and Pillow on the stand-in's image, in-process, and which one the service chose."""
    from bench.load import timed
    from bench.photo_generator import PhotoGenerator
    from service.images.png_encoders import PillowEncoder, choose_encoder, fast_encoder

    image = PhotoGenerator().images(512, 512)[0]
    found = {"pillow level 1": PillowEncoder(1)}
    if (fast := fast_encoder(PillowEncoder(1))[0]) is not None:
        found = {"fpng": fast} | found
    bench.result["ceiling_encode"] = {
        "ms": {name: timed(lambda e=encoder: e.encode(image), repeat) for name, encoder in found.items()},
        "bytes": {name: len(encoder.encode(image)) for name, encoder in found.items()},
        "chosen": choose_encoder(1).name,
        "repeat": repeat,
    }


def ceiling(bench) -> None:
    """The whole section: in-process encoders, the local figures, then the distributed one."""
    args = bench.args
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    bench.result["ceiling_measured"] = {"at": started, "loadavg_start": os.getloadavg()[0]}
    encoders(bench)
    local(bench, args.ceiling_rounds, args.ceiling_requests)
    distributed(bench, args.ceiling_rounds, args.ceiling_requests // 2)
    bench.result["ceiling_measured"]["loadavg_end"] = os.getloadavg()[0]
