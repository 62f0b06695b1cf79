"""Prometheus metrics, one registry per app so several apps can live in one process."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

GENERATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120)


class _StoredImages:
    def __init__(self, count: Callable[[], int]) -> None:
        self.count = count

    def collect(self):
        family = GaugeMetricFamily("pixy_images_stored", "Images stored in the database")
        try:
            family.add_metric([], self.count())
        except Exception:  # a scrape while MySQL is down still answers, without this gauge
            return
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

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_batch(self, seconds: float, size: int) -> None:
        self.generation.observe(seconds)
        self.batch_size.observe(size)

    def watch(self, *, queue_depth: Callable[[], int], images_stored: Callable[[], int]) -> None:
        self.queue_depth.set_function(queue_depth)
        self.registry.register(_StoredImages(images_stored))
