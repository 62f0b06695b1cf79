"""The scale-out bench's cluster: one distributed API process (``python -m web``) and sleep workers
(``python -m bench.sleep_worker``) on a RabbitMQ vhost and a database of their own, and jobs sent through it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from pathlib import Path

import httpx

from bench import DATABASES, PROMPT
from bench.server import Server, start
from core.settings import Settings
from data.connection import open_connection
from service.distributed.celery_app import make_celery, queue_name

VHOST = "pixy_bench"
CLIENTS = 4
JOB_TIMES = "SELECT status, created_at, started_at, finished_at, worker FROM jobs WHERE id IN %(ids)s"
CLEAR = ("DELETE FROM job_events", "DELETE FROM images", "DELETE FROM jobs")


def broker_url() -> str:
    """PIXY_BENCH_BROKER_URL, or a RabbitMQ vhost of the bench's own, made anew (so its queue is empty)."""
    if url := os.environ.get("PIXY_BENCH_BROKER_URL"):
        return url
    ctl = ["rabbitmqctl", "-q"]
    subprocess.run([*ctl, "delete_vhost", VHOST], capture_output=True)
    for command in (["add_vhost", VHOST], ["set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*"]):
        done = subprocess.run([*ctl, *command], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(command)}: {done.stderr.strip()} (or set PIXY_BENCH_BROKER_URL)")
    return f"amqp://guest:guest@127.0.0.1:5672/{VHOST}"


class SleepCluster:
    """One distributed API process and sleep workers over RabbitMQ, a database of their own, and jobs through them."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.settings = Settings(db_name=DATABASES["scale"])
        self.env = {
            "PIXY_MODEL": "tiny", "PIXY_STORAGE": "mysql", "PIXY_API_KEYS": "", "PIXY_CORS_ORIGINS": "",
            "DB_NAME": DATABASES["scale"], "PIXY_BROKER_URL": broker_url(), "PIXY_LOG_LEVEL": "INFO",
            "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1",
        }  # fmt: skip
        self.api: Server | None = None
        self.workers: list[subprocess.Popen] = []
        self.names: list[str] = []
        self.consuming: set[str] = set()
        self.client = httpx.Client(timeout=60)
        self._db = None
        self.celery = make_celery(Settings(pixy_broker_url=self.env["PIXY_BROKER_URL"]))

    # -- processes ----------------------------------------------------------------------------------
    def start(self, count: int) -> None:
        """The API process and ``count`` workers, all consuming, counted by the API's /ready."""
        self.api = start(log=self.tmp / "scale-api.log", env=self.env, timeout=120)
        for i in range(count):
            name = f"bench-sleep-{i}@{os.uname().nodename}"
            log = (self.tmp / f"scale-bench-sleep-{i}.log").open("ab")
            command = [sys.executable, "-m", "bench.sleep_worker"]
            env = os.environ | self.env | {"PIXY_WORKER_NAME": name}
            self.workers.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))
            self.names.append(name)
        deadline = time.monotonic() + 120
        while self.client.get(self.api.url + "/ready").json().get("workers") != count:
            if time.monotonic() > deadline or any(w.poll() is not None for w in self.workers):
                raise RuntimeError(f"{count} sleep workers did not come up; see {self.tmp}/scale-*.log")
            time.sleep(0.2)
        self.consuming = set(self.names)
        self.run_jobs(2 * count)  # warm: every consumer is up and its connections are open

    def use(self, n: int) -> None:
        """Only the first ``n`` workers take tasks: the others stop consuming (Celery's remote control), so
        1 and N are measured side by side without restarting a process."""
        control = self.celery.control
        stop, go = set(self.names[n:]) & self.consuming, set(self.names[:n]) - self.consuming
        for names, command in ((stop, control.cancel_consumer), (go, control.add_consumer)):
            if names:
                replies = command(queue_name(self.env["PIXY_MODEL"]), destination=sorted(names), reply=True, timeout=10)
                if len(replies) != len(names):
                    raise RuntimeError(f"{command.__name__}: {len(replies)} of {len(names)} workers answered")
        self.consuming = set(self.names[:n])

    def close(self) -> None:
        for process in self.workers:
            process.terminate()
        for process in self.workers:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        self.client.close()
        if self._db is not None:
            self._db.close()
        if self.api is not None:
            self.api.stop()

    # -- measurements -------------------------------------------------------------------------------
    def submit(self, client: httpx.Client, i: int) -> str:
        response = client.post("/jobs", json={"prompt": f"{PROMPT} {i}", "steps": 1, "seed": i})
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def rows(self, ids: list[str]) -> list[dict]:
        """The jobs' rows, on one connection kept for the run (each read ends its snapshot)."""
        if self._db is None:
            self._db = open_connection(self.settings)
        with self._db.cursor() as cur:
            cur.execute(JOB_TIMES, {"ids": tuple(ids)})
            found = list(cur.fetchall())
        self._db.rollback()
        return found

    def wait_done(self, ids: list[str], timeout: float = 120) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.rows(ids)
            if len(rows) == len(ids) and all(row["finished_at"] is not None for row in rows):
                bad = [row["status"] for row in rows if row["status"] != "succeeded"]
                assert not bad, f"jobs ended {bad}"
                return rows
            time.sleep(0.1)  # the figure reads finished_at: polling only decides when the next run starts
        raise RuntimeError(f"{len(ids)} jobs not finished in {timeout:.0f} s")

    def run_jobs(self, count: int) -> tuple[float, list[dict]]:
        """Submit ``count`` jobs from ``CLIENTS`` threads; (jobs/s from the first send to the last finish, rows)."""
        clients = [httpx.Client(base_url=self.api.url, timeout=60) for _ in range(CLIENTS)]
        for client in clients:
            client.get("/health")
        with ThreadPoolExecutor(CLIENTS) as pool:
            first = time.time()
            ids = list(pool.map(lambda i: self.submit(clients[i % CLIENTS], i), range(count)))
        for client in clients:
            client.close()
        rows = self.wait_done(ids)
        last = max(row["finished_at"].replace(tzinfo=UTC).timestamp() for row in rows)
        self.clear()
        return count / (last - first), rows

    def clear(self) -> None:
        self.rows([""])  # the connection, opened if not yet
        with self._db.cursor() as cur:
            for sql in CLEAR:
                cur.execute(sql)
        self._db.commit()
