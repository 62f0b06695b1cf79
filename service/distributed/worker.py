"""A GPU worker of the distributed mode: ``make worker``, or ``celery -A service.distributed.worker worker``.

It loads its model once, at start (the others of PIXY_MODELS on first use), consumes the queues of each of its
models, and runs each ``run_job`` task through the same batching generation worker and job runner as the
one-process mode, writing rows, images and events to MySQL.
"""

from __future__ import annotations

import logging
import sys

from celery import signals

from core.exceptions import ImageException
from core.model_ids import model_id
from core.settings import get_settings
from service.assembly import Container, default_max_batch
from service.distributed.bootstrap import bootstrap_worker
from service.distributed.celery_app import RUN_JOB, make_celery
from service.distributed.execution import DONE, LATER, RAN, TaskExecution
from service.distributed.preflight import broker_problem, database_problem, peer_problem
from service.distributed.worker_metrics import WorkerMetrics

logger = logging.getLogger("pixyproxy.worker")

settings = get_settings()
# Its models' queues only: a job reaches no worker that cannot run it.
app = make_celery(settings, models=[model_id(source) for source in settings.model_sources])
app.conf.worker_concurrency = settings.pixy_max_batch or 1  # ``main`` sets it from the loaded model's device
_container: Container | None = None
metrics = WorkerMetrics()


@app.task(name=RUN_JOB, bind=True, max_retries=None)
def run_job(self, job_id: str) -> str:
    execution: TaskExecution = _container.execution
    outcome = execution.execute(job_id)
    if outcome in (DONE, RAN):
        return outcome
    # Held by a live worker, or this one is stopping: the task comes back after a heartbeat (or at once).
    raise self.retry(countdown=settings.pixy_heartbeat_s if outcome == LATER else 0)


def start(generator=None, name: str | None = None, prepare_database: bool = True) -> Container:
    """Build this worker's container once (``main`` does before Celery starts; ``worker_init`` otherwise)."""
    global _container
    if _container is None:
        if problem := metrics.serve(settings.pixy_host, settings.pixy_worker_metrics_port):
            logger.error("%s: this worker exports no metrics", problem)  # ``main`` refuses to start instead
        _container = bootstrap_worker(
            settings, generator=generator, name=name, prepare_database=prepare_database, observers=metrics.observers()
        )
        metrics.watch(_container.queue_depth)
    return _container


@signals.worker_init.connect
def _on_worker_init(sender=None, **_) -> None:
    start(name=getattr(sender, "hostname", None))  # ``celery -A … worker -n NAME``: the node is NAME


@signals.worker_shutdown.connect
def _on_worker_shutdown(**_) -> None:
    if _container is not None:
        _container.close()


def _refuse(problem: str) -> int:
    print(f"pixyproxy worker: {problem}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None, generator=None) -> int:
    """Check the broker, database, model and peers, then run the Celery worker; one line and exit 2 if not."""
    logging.basicConfig(level=settings.pixy_log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not settings.distributed:
        return _refuse("PIXY_BROKER_URL is not set: a worker takes its jobs from the broker the API processes use")
    port = settings.pixy_worker_metrics_port
    if problem := broker_problem(settings) or database_problem(settings) or metrics.serve(settings.pixy_host, port):
        return _refuse(problem)
    try:
        container = start(generator, prepare_database=False)  # database_problem has just prepared it
    except ImageException as exc:
        return _refuse(
            f"{exc.message}: a worker needs each of its models (PIXY_MODEL={settings.pixy_model!r}, "
            f"PIXY_MODELS={settings.pixy_models!r}; see scripts/download_weights.py)"
        )
    if problem := peer_problem(settings, container.heartbeat.me):
        container.close()
        return _refuse(problem)
    concurrency = default_max_batch(settings, container.generator.info.device)
    app.worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            "-n",
            container.execution.name,
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            settings.pixy_log_level,
            *(argv or []),
        ]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
