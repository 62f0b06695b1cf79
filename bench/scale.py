"""Scale-out: one distributed API process, N workers whose generator sleeps 200 ms an image (no CPU).

``scale_efficiency[N]`` is throughput(N) / (N x throughput(1)): ``jobs_per_worker x N`` jobs go in
through ``POST /jobs`` as fast as four clients send them, timed from the first send to the last job's
``finished_at``. All workers start once; only the first N consume (the rest are told to stop consuming
through Celery's remote control), so each round measures every N next to one worker and the figure is the
median of the per-round ratios, as the rest of the bench does. ``enqueue_to_start_p50_ms`` is
``started_at - created_at`` of sequential jobs on one idle worker (both DATETIME(6), written by the
API's and the worker's clocks on this one host). The broker is RabbitMQ in a vhost of its own.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import httpx

from bench.load import median, percentile
from bench.scale_cluster import SleepCluster
from bench.sleep_generator import SECONDS_PER_IMAGE


def _ms(delta) -> float:
    return delta.total_seconds() * 1000


def gaps(rows: list[dict]) -> list[float]:
    """Per worker, the time from one job's finished_at to its next job's started_at (ms)."""
    found = []
    for worker in {row["worker"] for row in rows}:
        mine = sorted((row for row in rows if row["worker"] == worker), key=lambda row: row["started_at"])
        found += [_ms(b["started_at"] - a["finished_at"]) for a, b in zip(mine, mine[1:], strict=False)]
    return found


def efficiency(cluster: SleepCluster, args, result: dict) -> None:
    """Per round, each N is measured next to one worker (in turn first or second); the median of the
    per-round ratios is the figure."""
    sizes = args.scale_workers
    rates: dict[int, list[float]] = {n: [] for n in sizes}
    ratios: dict[int, list[float]] = {n: [] for n in sizes[1:]}
    took: dict[int, set[int]] = {n: set() for n in sizes}
    most: dict[int, int] = {n: 0 for n in sizes}
    inside: dict[int, list[float]] = {n: [] for n in sizes}
    between: dict[int, list[float]] = {n: [] for n in sizes}
    for r in range(args.scale_rounds):
        for i, n in enumerate(sizes[1:]):
            pair = {}
            for m in (1, n) if (r + i) % 2 == 0 else (n, 1):
                cluster.use(m)
                pair[m], rows = cluster.run_jobs(args.scale_jobs * m)
                rates[m].append(pair[m])
                per_worker = Counter(row["worker"] for row in rows)
                took[m].add(len(per_worker))
                most[m] = max(most[m], *per_worker.values())
                inside[m] += [_ms(row["finished_at"] - row["started_at"]) - SECONDS_PER_IMAGE * 1000 for row in rows]
                between[m] += gaps(rows)
            ratios[n].append(pair[n] / (n * pair[1]))
            print(f"  round {r + 1}: 1 worker {pair[1]:.2f} jobs/s, {n} workers {pair[n]:.2f} jobs/s", flush=True)
    result["scale_jobs_per_s"] = {str(n): median(rates[n]) for n in sizes}
    result["scale_efficiency"] = {"1": 1.0} | {str(n): median(ratios[n]) for n in sizes[1:]}
    result["scale_efficiency_rounds"] = {str(n): [round(x, 3) for x in ratios[n]] for n in sizes[1:]}
    result["scale_efficiency_worst"] = min(result["scale_efficiency"].values())
    result["scale_workers_used_min"] = {str(n): min(took[n]) for n in sizes}
    result["scale_most_jobs_on_a_worker"] = {str(n): most[n] for n in sizes}
    result["scale_ideal_jobs_per_s_per_worker"] = 1 / SECONDS_PER_IMAGE
    result["scale_jobs_per_worker"] = args.scale_jobs
    result["scale_job_overhead_ms"] = {str(n): median(inside[n]) for n in sizes}
    result["scale_gap_between_jobs_ms"] = {str(n): median(between[n]) for n in sizes}


def enqueue_to_start(cluster: SleepCluster, args, result: dict) -> None:
    cluster.use(1)
    delays, posts = [], []
    with httpx.Client(base_url=cluster.api.url, timeout=60) as client:
        for i in range(args.scale_latency_jobs):
            time.sleep(0.05)  # the worker is idle: its last task acknowledged, its consumer waiting
            sent = time.perf_counter()
            job_id = cluster.submit(client, i)
            posts.append((time.perf_counter() - sent) * 1000)
            row = cluster.wait_done([job_id])[0]
            delays.append(_ms(row["started_at"] - row["created_at"]))
    cluster.clear()
    result["enqueue_to_start_p50_ms"] = median(delays)
    result["enqueue_to_start_p95_ms"] = percentile(delays, 95)
    result["enqueue_post_p50_ms"] = median(posts)
    result["enqueue_to_start_jobs"] = len(delays)


def scale(args, tmp: Path, result: dict) -> None:
    """The scale-out figures, into ``result``."""
    cluster = SleepCluster(tmp)
    try:
        cluster.start(max(args.scale_workers))
        enqueue_to_start(cluster, args, result)
        efficiency(cluster, args, result)
    finally:
        cluster.close()
    result["scale_cpu_count"] = os.cpu_count()
    result["scale_broker"] = cluster.env["PIXY_BROKER_URL"].split("://")[0]
