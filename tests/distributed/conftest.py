"""A distributed deployment as subprocesses: API processes (``python -m web``) and GPU workers
(``python -m service.distributed.worker``, the tiny model on the CPU) around one MariaDB and one broker.

Each run gets a queue namespace of its own (a RabbitMQ vhost, or a Redis database number) named after
its test database, so parallel runs on the shared brokers never take each other's tasks.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from bench.server import Server, start
from core.settings import ROOT, Settings
from tests.conftest import TEST_DB, clear_tables, outside_connection

WORKER = [sys.executable, "-m", "service.distributed.worker"]
REDIS_DB = int(os.environ.get("PIXY_TEST_REDIS_DB", "13"))
TEST_MODELS = ["tiny", "tiny-xl"]  # the models the workers of these tests serve


def amqp_url() -> str:
    """A vhost of this test database's own, created (idempotently) through rabbitmqctl."""
    vhost = "pixy_" + re.sub(r"\W", "_", TEST_DB)
    for args in (["add_vhost", vhost], ["set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"]):
        done = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60)
        if done.returncode != 0 and "already exists" not in done.stderr + done.stdout:
            pytest.exit(f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip()}", returncode=3)
    return f"amqp://guest:guest@127.0.0.1:5672/{vhost}"


def redis_url() -> str:
    return f"redis://127.0.0.1:6379/{REDIS_DB}"


def purge(url: str) -> None:
    """Empty the namespace: tasks left by an earlier run would start jobs this run never made."""
    if url.startswith("redis://"):
        import redis

        redis.Redis.from_url(url).flushdb()
        return
    from service.distributed.celery_app import make_celery

    app = make_celery(Settings(pixy_broker_url=url), models=TEST_MODELS)  # their queues, which purge empties
    with app.connection_for_write() as conn:
        app.control.purge(connection=conn)


def reset_database(settings: Settings) -> None:
    clear_tables(settings)
    with outside_connection(settings) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM nodes")


@dataclass
class Worker:
    name: str
    log: Path
    process: subprocess.Popen

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Cluster:
    """API processes and workers sharing one database (PIXY_STORAGE=mysql) and one broker."""

    settings: Settings
    broker: str
    folder: Path
    apis: list[Server] = field(default_factory=list)
    workers: dict[str, Worker] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)  # settings of every process of this cluster

    def env(self, **overrides: str) -> dict[str, str]:
        base = {
            "PIXY_MODEL": "tiny",
            "PIXY_STORAGE": "mysql",
            "PIXY_API_KEYS": "",
            "PIXY_CORS_ORIGINS": "",
            "DB_NAME": self.settings.db_name,
            "PIXY_BROKER_URL": self.broker,
            "PIXY_HEARTBEAT_S": "1",
            "PIXY_LOG_LEVEL": "INFO",
            "PIXY_IMAGES_DIR": str(self.folder / "images"),
            "HF_HUB_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
        }
        return base | self.extra | overrides

    def start_api(self, **overrides: str) -> Server:
        api = start(log=self.folder / f"api{len(self.apis)}.log", env=self.env(**overrides), timeout=90)
        self.apis.append(api)
        return api

    def start_worker(self, name: str, **overrides: str) -> Worker:
        log = self.folder / f"worker-{name}.log"
        # One torch thread each: two workers on a 2-core box would otherwise fight over both cores.
        env = os.environ | self.env(PIXY_WORKER_NAME=name, OMP_NUM_THREADS="1", **overrides)
        with log.open("wb") as handle:
            process = subprocess.Popen(WORKER, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
        self.workers[name] = worker = Worker(name, log, process)
        return worker

    def wait_workers(self, names: list[str], timeout: float = 120) -> dict:
        """Until /ready on the first API lists exactly ``names`` as live workers; returns its body."""
        deadline, body = time.monotonic() + timeout, {}
        while time.monotonic() < deadline:
            for name in names:
                if self.workers[name].process.poll() is not None:
                    raise RuntimeError(f"worker {name} exited:\n{self.workers[name].tail()}")
            body = httpx.get(self.apis[0].url + "/ready", timeout=10).json()
            if sorted(node["name"] for node in body.get("worker_nodes", [])) == sorted(names):
                return body
            time.sleep(0.3)
        raise RuntimeError(f"workers {names} not ready in {timeout:.0f} s: {body}")

    def stop(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        for api in self.apis:
            api.stop()


def make_cluster(
    settings: Settings,
    broker: str,
    folder: Path,
    *,
    apis: int,
    workers: list[str],
    worker_env: dict[str, dict[str, str]] | None = None,
    **extra: str,
) -> Cluster:
    """``worker_env``: settings of one worker's own, by its name (its models, say)."""
    purge(broker)
    reset_database(settings)
    cluster = Cluster(settings, broker, folder, extra=extra)
    try:
        for name in workers:  # the workers load their model while the APIs start
            cluster.start_worker(name, **(worker_env or {}).get(name, {}))
        for _ in range(apis):
            cluster.start_api()
        cluster.wait_workers(workers)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="module")
def amqp() -> str:
    return amqp_url()


@pytest.fixture(scope="module")
def cluster(database: Settings, amqp: str, tmp_path_factory) -> Iterator[Cluster]:
    """Two API processes and two workers on RabbitMQ, shared by the tests of a module."""
    running = make_cluster(database, amqp, tmp_path_factory.mktemp("cluster"), apis=2, workers=["w1@test", "w2@test"])
    yield running
    running.stop()
