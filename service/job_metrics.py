"""The generation and job instruments, under the names every process exports them by: ``/metrics`` of the web
process (web/metrics.py) and a GPU worker's own endpoint (service/distributed/worker_metrics.py)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from core.jobs import Job

GENERATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120)
BATCH_BUCKETS = (1, 2, 4, 8, 16)


class JobMetrics:
    """Pipeline calls and finished jobs, counted where they happen: a job's end is told only by the process
    that ended it (``Announcer``), so summing every process's counters counts each job once."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.generation = Histogram(
            "pixy_generation_seconds", "Pipeline call latency", buckets=GENERATION_BUCKETS, registry=registry
        )
        self.batch_size = Histogram(
            "pixy_generation_batch_size", "Images per pipeline call", buckets=BATCH_BUCKETS, registry=registry
        )
        self.jobs = Counter("pixy_jobs", "Finished jobs by terminal status", ["status"], registry=registry)
        self.job_queue_wait = Histogram(
            "pixy_job_queue_wait_seconds",
            "Seconds from accepted to started",
            buckets=GENERATION_BUCKETS,
            registry=registry,
        )
        self.cancellations = Counter("pixy_job_cancellations", "Jobs cancelled", registry=registry)

    def observe_batch(self, seconds: float, size: int) -> None:
        self.generation.observe(seconds)
        self.batch_size.observe(size)

    def observe_job(self, job: Job) -> None:
        """A finished job: its status, and how long it waited for the generator."""
        self.jobs.labels(job.status).inc()
        if job.status == "cancelled":
            self.cancellations.inc()
        if job.started_at is not None:
            self.job_queue_wait.observe(max(0.0, (job.started_at - job.created_at).total_seconds()))
