"""A GPU worker's Prometheus endpoint (``PIXY_WORKER_METRICS_PORT``): its pipeline calls and the jobs it ended,
under the names an API process's ``/metrics`` uses (service/job_metrics.py), served by prometheus_client's own
HTTP server on a thread of the worker process."""

from __future__ import annotations

from collections.abc import Callable
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Gauge, start_http_server

from service.assembly import Observers
from service.job_metrics import JobMetrics


class WorkerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.work = JobMetrics(self.registry)
        self.queue_depth = Gauge("pixy_queue_depth", "Requests waiting for the generator", registry=self.registry)
        self.server: WSGIServer | None = None

    def observers(self) -> Observers:
        return Observers(on_batch=self.work.observe_batch, on_job=self.work.observe_job)

    def watch(self, queue_depth: Callable[[], int]) -> None:
        self.queue_depth.set_function(queue_depth)

    def serve(self, host: str, port: int) -> str | None:
        """Start answering scrapes on ``host:port`` (once; port 0: never); why not, or None."""
        if port == 0 or self.server is not None:
            return None
        try:
            self.server, _ = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            return f"PIXY_WORKER_METRICS_PORT={port}: cannot listen on {host}:{port} ({exc.strerror})"
        return None

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
