"""Helpers for ``scripts/bench.py``: servers as subprocesses, HTTP load from a thread pool, statistics.

The server is started the way ``tests/e2e/conftest.py`` starts it: ``python -m web`` with environment
overrides, polled until it answers.
"""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
END_LINE = re.compile(r"^\S+ \S+ \w+ (\S+) .*REQUEST END (\S+) (\S+) (\d+) route=\S+ ([\d.]+)ms")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Proc:
    """A server subprocess: the PIXY service (``python -m web``) or the static baseline."""

    name: str
    url: str
    log: Path
    process: subprocess.Popen

    def memory_mb(self) -> dict[str, float]:
        """Peak (VmHWM) and current (VmRSS) resident memory, from /proc (psutil is not installed)."""
        values = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(value.split()[0]) / 1024
        return values

    def server_ms(self) -> dict[str, float]:
        """Request id -> the server's own elapsed time, from its REQUEST END log lines."""
        found = {}
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            if match := END_LINE.match(line):
                found[match.group(1)] = float(match.group(5))
        return found

    def wait_ready(self, path: str, timeout: float = 180) -> httpx.Response:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log.read_text()[-4000:]}")
            try:
                response = httpx.get(self.url + path, timeout=2)
                if response.status_code < 500:
                    return response
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.name} did not come up:\n{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def launch(name: str, argv: list[str], log: Path, **env_overrides: str) -> Proc:
    port = free_port()
    env = os.environ | {"PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"} | env_overrides
    env = {key: value.replace("{port}", str(port)) for key, value in env.items()}
    argv = [arg.replace("{port}", str(port)) for arg in argv]
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    return Proc(name=name, url=f"http://127.0.0.1:{port}", log=log, process=process)


def launch_service(name: str, tmp: Path, argv: list[str] | None = None, **env_overrides: str) -> Proc:
    env = {
        "PIXY_HOST": "127.0.0.1",
        "PIXY_PORT": "{port}",
        "PIXY_IMAGES_DIR": str(tmp / f"images-{name}"),
        "PIXY_LOG_LEVEL": "INFO",
    } | env_overrides
    return launch(name, argv or [sys.executable, "-m", "web"], tmp / f"{name}.log", **env)


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
