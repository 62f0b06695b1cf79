"""Prometheus metrics, one registry per app so several apps can live in one process."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

GENERATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120)
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


class _StoredImages:
    """The last count read; a scrape shows it, and while MySQL is down, no gauge at all."""

    def __init__(self, count: Callable[[], int]) -> None:
        self.reader = OffThread(count, "pixy-images-stored")
        self.value: int | None = None

    async def refresh(self, timeout: float) -> None:
        done = await self.reader.run(timeout)
        if done.done():
            self.value = done.result() if succeeded(done) else None

    def collect(self):
        if self.value is None:
            return
        family = GaugeMetricFamily("pixy_images_stored", "Images stored in the database")
        family.add_metric([], self.value)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("pixy_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram(
            "pixy_request_seconds", "HTTP request latency", ["method", "route"], registry=self.registry
        )
        self.generation = Histogram(
            "pixy_generation_seconds", "Pipeline call latency", buckets=GENERATION_BUCKETS, registry=self.registry
        )
        self.batch_size = Histogram(
            "pixy_generation_batch_size", "Images per pipeline call", buckets=(1, 2, 4, 8, 16), registry=self.registry
        )
        self.queue_depth = Gauge("pixy_queue_depth", "Requests waiting for the generator", registry=self.registry)
        self.broker_queue_depth = Gauge(
            "pixy_broker_queue_depth", "Distributed mode: tasks waiting per queue", ["queue"], registry=self.registry
        )
        self.webhook_deliveries = Counter(
            "pixy_webhook_deliveries", "Webhook delivery attempts by outcome", ["outcome"], registry=self.registry
        )
        self.jobs = Counter("pixy_jobs", "Finished jobs by terminal status", ["status"], registry=self.registry)
        self.job_queue_wait = Histogram(
            "pixy_job_queue_wait_seconds",
            "Seconds from accepted to started",
            buckets=GENERATION_BUCKETS,
            registry=self.registry,
        )
        self.cancellations = Counter("pixy_job_cancellations", "Jobs cancelled", registry=self.registry)
        self.stored: _StoredImages | None = None
        self.ping: OffThread | None = None

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_webhook(self, outcome: str) -> None:
        """delivered, retried (a timeout or 5xx, tried again later) or failed (refused, or out of retries)."""
        self.webhook_deliveries.labels(outcome).inc()

    def observe_job(self, job) -> None:
        """A finished job (``core.jobs.Job``): its status, and how long it waited for the generator."""
        self.jobs.labels(job.status).inc()
        if job.status == "cancelled":
            self.cancellations.inc()
        if job.started_at is not None:
            self.job_queue_wait.observe(max(0.0, (job.started_at - job.created_at).total_seconds()))

    def observe_queues(self, depths: dict[str, int | None]) -> None:
        for queue, depth in depths.items():
            if depth is not None:
                self.broker_queue_depth.labels(queue).set(depth)

    def observe_batch(self, seconds: float, size: int) -> None:
        self.generation.observe(seconds)
        self.batch_size.observe(size)

    def watch(
        self, *, queue_depth: Callable[[], int], images_stored: Callable[[], int], ping: Callable[[], None]
    ) -> None:
        self.queue_depth.set_function(queue_depth)
        self.ping = OffThread(ping, "pixy-ready-ping")
        self.stored = _StoredImages(images_stored)
        self.registry.register(self.stored)

    async def refresh(self, timeout: float = SCRAPE_WAIT) -> None:
        """A fresh stored-images count when MySQL gives one within ``timeout``; the last one otherwise."""
        if self.stored is not None:
            await self.stored.refresh(timeout)

    async def database_answers(self, timeout: float) -> bool:
        """Whether MySQL answered a ping within ``timeout``: a stuck database is not ready, and says so quickly."""
        return self.ping is not None and succeeded(await self.ping.run(timeout))

    def close(self) -> None:
        for reader in (self.ping, self.stored and self.stored.reader):
            if reader is not None:
                reader.close()
