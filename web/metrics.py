"""Prometheus metrics, one registry per app so several apps can live in one process."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from typing import Any, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

from core.jobs import JobStatus
from service.job_metrics import JobMetrics

SCRAPE_WAIT = 1.0  # seconds a scrape waits for MySQL's count before serving the last one


class OffThread:
    """A blocking call run on a thread of its own, one at a time, that async callers wait on for a bounded time.

    Probes and scrapes must not take a request worker thread, nor wait out a stuck database.
    """

    def __init__(self, call: Callable[[], Any], name: str) -> None:
        self.call = call
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=name)
        self._pending: Future | None = None
        self._lock = threading.Lock()

    async def run(self, timeout: float) -> Future:
        """The latest call (started now unless one is still running), finished or not after ``timeout``."""
        with self._lock:
            if self._pending is None or self._pending.done():
                self._pending = self._executor.submit(self.call)
            pending = self._pending
        with suppress(Exception):  # a timeout, or the call's own error: callers read it from the future
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(pending)), timeout)
        return pending

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def succeeded(future: Future) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None


class _LastRead:
    """The last value a read of MySQL gave, as a gauge; a scrape shows it, and while MySQL is down, no gauge."""

    def __init__(self, read: Callable[[], Any], name: str, family: Callable[[Any], GaugeMetricFamily]) -> None:
        self.reader = OffThread(read, name)
        self.family = family
        self.value: Any = None

    async def refresh(self, timeout: float) -> None:
        done = await self.reader.run(timeout)
        if done.done():
            self.value = done.result() if succeeded(done) else None

    def collect(self):
        if self.value is not None:
            yield self.family(self.value)


def _images_stored(count: int) -> GaugeMetricFamily:
    return GaugeMetricFamily("pixy_images_stored", "Images stored in the database", value=count)


def _jobs_stored(counts: dict[str, int]) -> GaugeMetricFamily:
    """Every status, none left out: a series that vanishes at zero reads as missing data."""
    family = GaugeMetricFamily("pixy_jobs_stored", "Jobs in the database by status, all processes'", labels=["status"])
    for status in get_args(JobStatus):
        family.add_metric([status], counts.get(status, 0))
    return family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("pixy_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram(
            "pixy_request_seconds", "HTTP request latency", ["method", "route"], registry=self.registry
        )
        self.work = JobMetrics(self.registry)
        self.queue_depth = Gauge("pixy_queue_depth", "Requests waiting for the generator", registry=self.registry)
        self.broker_queue_depth = Gauge(
            "pixy_broker_queue_depth", "Distributed mode: tasks waiting per queue", ["queue"], registry=self.registry
        )
        self.webhook_deliveries = Counter(
            "pixy_webhook_deliveries", "Webhook delivery attempts by outcome", ["outcome"], registry=self.registry
        )
        self.stored: list[_LastRead] = []
        self.ping: OffThread | None = None

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_webhook(self, outcome: str) -> None:
        """delivered, retried (a timeout or 5xx, tried again later) or failed (refused, or out of retries)."""
        self.webhook_deliveries.labels(outcome).inc()

    def observe_job(self, job) -> None:
        """A job this process ended (``core.jobs.Job``)."""
        self.work.observe_job(job)

    def observe_queues(self, depths: dict[str, int | None]) -> None:
        for queue, depth in depths.items():
            if depth is not None:
                self.broker_queue_depth.labels(queue).set(depth)

    def observe_batch(self, seconds: float, size: int) -> None:
        self.work.observe_batch(seconds, size)

    def watch(
        self,
        *,
        queue_depth: Callable[[], int],
        images_stored: Callable[[], int],
        ping: Callable[[], None],
        jobs_stored: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        """``jobs_stored``: jobs per status in MySQL, every process's (in the distributed mode workers end most
        jobs, so this process's own counters see only a part)."""
        self.queue_depth.set_function(queue_depth)
        self.ping = OffThread(ping, "pixy-ready-ping")
        self.stored = [_LastRead(images_stored, "pixy-images-stored", _images_stored)]
        if jobs_stored is not None:
            self.stored.append(_LastRead(jobs_stored, "pixy-jobs-stored", _jobs_stored))
        for gauge in self.stored:
            self.registry.register(gauge)

    async def refresh(self, timeout: float = SCRAPE_WAIT) -> None:
        """Fresh counts from MySQL when it gives them within ``timeout``; the last ones otherwise."""
        await asyncio.gather(*(gauge.refresh(timeout) for gauge in self.stored))

    async def database_answers(self, timeout: float) -> bool:
        """Whether MySQL answered a ping within ``timeout``: a stuck database is not ready, and says so quickly."""
        return self.ping is not None and succeeded(await self.ping.run(timeout))

    def close(self) -> None:
        for reader in [self.ping, *(gauge.reader for gauge in self.stored)]:
            if reader is not None:
                reader.close()
