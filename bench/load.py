"""HTTP load from a thread pool, and the statistics the benchmark reports."""

from __future__ import annotations

import re
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from bench.server import Server

END_LINE = re.compile(r"^\S+ \S+ \w+ (\S+) .*REQUEST END (\S+) (\S+) (\d+) route=\S+ ([\d.]+)ms")


def server_ms(server: Server) -> dict[str, float]:
    """Request id -> the server's own elapsed time, from its REQUEST END log lines."""
    return {m.group(1): float(m.group(5)) for line in server.lines() if (m := END_LINE.match(line))}


@dataclass
class Load:
    """What one load run saw: 2xx count, wall time, per-request latencies, bodies and request ids."""

    seconds: float
    client_cpu_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    bodies: list = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return sum(n for code, n in self.statuses.items() if 200 <= code < 300)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return sum(self.statuses.values()) - self.ok


def run_load(
    url: str,
    concurrency: int,
    request: Callable[[httpx.Client, int], httpx.Response],
    *,
    count: int | None = None,
    duration: float | None = None,
    keep_bodies: bool = False,
) -> Load:
    """``count`` requests (or as many as fit in ``duration`` s) from ``concurrency`` threads.

    Each thread has its own keep-alive ``httpx.Client``, made and connected before the clock starts.
    """
    clients = [httpx.Client(base_url=url, timeout=600) for _ in range(concurrency)]
    for client in clients:
        client.get("/health")
    result = Load(seconds=0.0)
    lock = threading.Lock()
    counter = iter(range(10**9))
    gate = threading.Barrier(concurrency + 1)
    clock: dict[str, float] = {}

    def worker(client: httpx.Client) -> None:
        gate.wait()
        while True:
            with lock:
                index = next(counter)
            if count is not None and index >= count:
                return
            if duration is not None and time.perf_counter() >= clock["deadline"]:
                return
            started = time.perf_counter()
            response = request(client, index)
            elapsed = (time.perf_counter() - started) * 1000
            body = response.json() if keep_bodies and response.status_code == 200 else None
            with lock:
                result.latencies_ms.append(elapsed)
                result.statuses[response.status_code] += 1
                result.request_ids.append(response.headers.get("x-request-id", ""))
                if keep_bodies:
                    result.bodies.append(body)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(worker, client) for client in clients]
        cpu_start = time.process_time()
        clock["start"] = time.perf_counter()
        clock["deadline"] = clock["start"] + (duration or 0)
        gate.wait()
        for future in futures:
            future.result()
        result.seconds = time.perf_counter() - clock["start"]
        result.client_cpu_s = time.process_time() - cpu_start
    for client in clients:
        client.close()
    return result


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], pct: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median milliseconds of ``fn`` over ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return median(samples)


def merge_loads(loads: list[Load]) -> Load:
    """One ``Load`` with every request of ``loads`` (for per-request splits across rounds)."""
    merged = Load(seconds=sum(load.seconds for load in loads))
    for load in loads:
        merged.latencies_ms += load.latencies_ms
        merged.request_ids += load.request_ids
        merged.bodies += load.bodies
        merged.statuses += load.statuses
    return merged
