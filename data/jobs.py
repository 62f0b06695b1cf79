"""The job repository: one row per job in ``jobs``, its parameters and outcome as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from core.models import GenerationParams
from data.connection import Pool
from data.idempotency import KeyClaim, KeyOwner, claim_key, purge_expired
from data.job_inputs import DELETE_INPUTS
from data.job_pages import count_query, page_query
from data.write import Write

COLUMNS = "seq, id, status, params, n, attempts, images, error, created_at, started_at, finished_at, webhook_url"
INSERT_JOB = (
    "INSERT INTO jobs (id, status, params, n, images, created_at, webhook_url) "
    "VALUES (%(id)s, 'queued', %(params)s, %(n)s, '[]', %(created_at)s, %(webhook_url)s)"
)
INSERT_FINISHED = (
    "INSERT INTO jobs (id, status, params, n, attempts, images, error, created_at, started_at, finished_at) "
    "VALUES (%(id)s, %(status)s, %(params)s, %(n)s, 1, %(images)s, %(error)s, %(created_at)s, %(started_at)s, "
    "%(finished_at)s)"
)
SELECT_JOB = f"SELECT {COLUMNS} FROM jobs WHERE id = %(id)s"
SELECT_UNFINISHED = f"SELECT {COLUMNS} FROM jobs WHERE status IN ('queued', 'running') ORDER BY seq"
COUNT_AHEAD = "SELECT COUNT(*) AS n FROM jobs WHERE status = 'queued' AND seq < %(seq)s"
COUNT_BY_STATUS = "SELECT status, COUNT(*) AS n FROM jobs GROUP BY status"  # the jobs_status index alone
START_JOB = (
    "UPDATE jobs SET status = 'running', started_at = %(at)s, attempts = attempts + 1 "
    "WHERE id = %(id)s AND status = 'queued'"
)
REQUEUE_JOB = "UPDATE jobs SET status = 'queued' WHERE id = %(id)s AND status = 'running'"
# Jobs whose task may be lost: queued (or running, with a silent worker) since before a moment, and not sent
# again since. A crash between the row's commit and the publish, or a broker that lost its queue, leaves them.
SELECT_STRANDED = (
    "SELECT id, JSON_VALUE(params, '$.model') AS model FROM jobs WHERE status IN ('queued', 'running') AND "
    "COALESCE(republished_at, created_at) < %(before)s AND "
    "(status = 'queued' OR heartbeat_at IS NULL OR heartbeat_at < UTC_TIMESTAMP(6) - INTERVAL %(lease_ms)s * 1000 "
    "MICROSECOND) ORDER BY seq LIMIT %(limit)s"
)
MARK_REPUBLISHED = "UPDATE jobs SET republished_at = %(at)s WHERE id IN %(ids)s"
# Retention: finished jobs long past, a batch at a time; their events, key, uploads and delivery go with them
# (ON DELETE CASCADE). Images are never pruned: they outlive the jobs that made them.
PRUNE_FINISHED = (
    "DELETE FROM jobs WHERE status IN ('succeeded', 'failed', 'cancelled') AND finished_at < %(before)s "
    "ORDER BY seq LIMIT %(limit)s"
)
# Its key and uploads go with it (ON DELETE CASCADE).
WITHDRAW = "DELETE FROM jobs WHERE id = %(id)s AND status = 'queued'"
FINISH_JOB = (
    "UPDATE jobs SET status = %(status)s, images = %(images)s, error = %(error)s, finished_at = %(at)s "
    "WHERE id = %(id)s AND status IN ('queued', 'running')"
)


@dataclass(frozen=True)
class JobRecord:
    seq: int
    id: str
    status: str
    params: GenerationParams
    n: int
    attempts: int
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    images: list[str] = field(default_factory=list)
    error: str | None = None
    webhook_url: str | None = None

    @classmethod
    def from_row(cls, row: dict) -> JobRecord:
        decoded = {"params": GenerationParams.model_validate_json(row["params"]), "images": json.loads(row["images"])}
        return cls(**(row | decoded))


class MySQLJobRepository:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    def add(
        self,
        job_id: str,
        params: GenerationParams,
        *,
        n: int,
        created_at: datetime,
        webhook_url: str | None = None,
        key: KeyClaim | None = None,
        inputs: list[Write] | None = None,
    ) -> KeyOwner | None:
        """Insert the job (and its ``inputs`` rows); with an idempotency ``key`` held by another job, insert
        nothing and return that one."""
        row = {"id": job_id, "params": params.model_dump_json(), "n": n, "created_at": created_at}
        with self.pool.transaction() as conn, conn.cursor() as cur:
            cur.execute(INSERT_JOB, row | {"webhook_url": webhook_url})
            for each in inputs or ():
                each.run(cur)
            if key is None:
                return None
            owner = claim_key(cur, key, job_id=job_id, created_at=created_at)
            if owner.job_id != job_id:
                conn.rollback()  # the key's own job stands; this one was never there
            return owner

    def finished(self, job_id: str, *, status: str, at: datetime, images: list[str]) -> Write:
        """``finish`` as a Write, for the images' transaction: the job ends exactly when its images are stored."""
        row = {"id": job_id, "status": status, "at": at, "images": json.dumps(images), "error": None}
        # Required: images of a job already ended (cancelled, or stored by another run) are not kept.
        return Write(FINISH_JOB, row, required=True)

    def finished_row(
        self, job_id: str, params: GenerationParams, *, n: int, status: str, times: dict, images: list[str]
    ) -> Write:
        """``add_finished`` as a Write, for the images' transaction."""
        row = {"id": job_id, "status": status, "params": params.model_dump_json(), "n": n} | times
        return Write(INSERT_FINISHED, row | {"images": json.dumps(images), "error": None})

    def add_finished(
        self, job_id: str, params: GenerationParams, *, n: int, status: str, times: dict, **outcome
    ) -> None:
        """A job that ran to its end in one request: one row, written once (``times``: created_at, started_at,
        finished_at; ``outcome``: images, error)."""
        row = {"id": job_id, "status": status, "params": params.model_dump_json(), "n": n} | times
        row |= {"images": json.dumps(outcome.get("images") or []), "error": outcome.get("error")}
        with self.pool.transaction() as conn, conn.cursor() as cur:
            cur.execute(INSERT_FINISHED, row)

    def purge_keys(self, *, expired_before: datetime) -> int:
        with self.pool.transaction() as conn, conn.cursor() as cur:
            return purge_expired(cur, expired_before=expired_before)

    def get(self, job_id: str) -> JobRecord | None:
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(SELECT_JOB, {"id": job_id})
            row = cur.fetchone()
        return JobRecord.from_row(row) if row else None

    def list(self, *, limit: int, offset: int = 0, **filters: str | int | None) -> list[JobRecord]:
        """Newest first. ``filters``: status, before (a job id), before_seq (a cursor's position)."""
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(*page_query(COLUMNS, limit=limit, offset=offset, **filters))
            rows = cur.fetchall()
        return [JobRecord.from_row(row) for row in rows]

    def count(self, *, status: str | None = None) -> int:
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(*count_query(status=status))
            return int(cur.fetchone()["n"])

    def count_by_status(self) -> dict[str, int]:
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(COUNT_BY_STATUS)
            return {row["status"]: int(row["n"]) for row in cur.fetchall()}

    def unfinished(self) -> list[JobRecord]:
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(SELECT_UNFINISHED)
            rows = cur.fetchall()
        return [JobRecord.from_row(row) for row in rows]

    def position(self, seq: int) -> int:
        """How many queued jobs are ahead of the one at ``seq``."""
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(COUNT_AHEAD, {"seq": seq})
            return int(cur.fetchone()["n"])

    def start(self, job_id: str, *, at: datetime) -> bool:
        return self._update(START_JOB, {"id": job_id, "at": at})

    def requeue(self, job_id: str) -> bool:
        return self._update(REQUEUE_JOB, {"id": job_id})

    def finish(
        self, job_id: str, *, status: str, at: datetime, images: list[str] | None = None, error: str | None = None
    ) -> bool:
        """Set a terminal status once, and drop an edit's uploads with it; False when the job had finished
        already (a cancel won the race)."""
        row = {"id": job_id, "status": status, "at": at, "images": json.dumps(images or []), "error": error}
        with self.pool.transaction() as conn, conn.cursor() as cur:
            ended = cur.execute(FINISH_JOB, row) > 0
            if ended:
                cur.execute(DELETE_INPUTS, {"job_id": job_id})
        return ended

    def stranded(self, *, before: datetime, lease_s: float, limit: int) -> list[tuple[str, str | None]]:
        """Unfinished jobs last sent before ``before`` whose task may be lost (oldest first), each with its model
        (None for a job accepted before jobs named theirs)."""
        row = {"before": before, "lease_ms": int(lease_s * 1000), "limit": limit}
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(SELECT_STRANDED, row)
            return [(found["id"], found["model"]) for found in cur.fetchall()]

    def mark_republished(self, job_ids: list[str], *, at: datetime) -> None:
        if job_ids:
            self._update(MARK_REPUBLISHED, {"ids": tuple(job_ids), "at": at})

    def prune_finished(self, *, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` jobs that finished before ``before``; how many went."""
        with self.pool.transaction() as conn, conn.cursor() as cur:
            return cur.execute(PRUNE_FINISHED, {"before": before, "limit": limit})

    def withdraw(self, job_id: str) -> bool:
        """Delete a job that never started, with its key and uploads: the client heard a 503, so nothing of
        the request may remain (its Idempotency-Key is free for the retry)."""
        return self._update(WITHDRAW, {"id": job_id})

    def _update(self, sql: str, row: dict) -> bool:
        with self.pool.transaction() as conn, conn.cursor() as cur:
            return cur.execute(sql, row) > 0
