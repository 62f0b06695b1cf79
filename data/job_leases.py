"""Who runs a job, in the distributed mode: a worker claims it, keeps its lease fresh, and sees its cancel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from data.connection import Pool
from data.job_inputs import DELETE_INPUTS

# Heartbeats use the database's clock, so workers on hosts whose clocks disagree still agree on a lease.
CLAIM = (
    "UPDATE jobs SET status = 'running', started_at = %(at)s, attempts = attempts + 1, worker = %(worker)s, "
    "heartbeat_at = UTC_TIMESTAMP(6) WHERE id = %(id)s AND status = 'queued'"
)
STATE = (
    "SELECT status, attempts, worker, "
    "TIMESTAMPDIFF(MICROSECOND, heartbeat_at, UTC_TIMESTAMP(6)) / 1000000 AS idle_s FROM jobs WHERE id = %(id)s"
)
HEARTBEAT = "UPDATE jobs SET heartbeat_at = UTC_TIMESTAMP(6) WHERE id IN %(ids)s AND status = 'running'"
WATCH = (
    "SELECT id, status = 'cancelled' AS cancelled, COALESCE(previews_until > UTC_TIMESTAMP(6), 0) AS previews "
    "FROM jobs WHERE id IN %(ids)s"
)
WANT_PREVIEWS = (
    "UPDATE jobs SET previews_until = UTC_TIMESTAMP(6) + INTERVAL %(for_s)s SECOND "
    "WHERE id = %(id)s AND status IN ('queued', 'running')"
)
CANCEL_QUEUED = "UPDATE jobs SET status = 'cancelled', finished_at = %(at)s WHERE id = %(id)s AND status = 'queued'"


@dataclass(frozen=True)
class LeaseState:
    status: str
    attempts: int
    worker: str | None
    idle_s: float | None  # seconds since the running worker last said it runs the job


class JobLeases:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    def claim(self, job_id: str, *, worker: str, at: datetime) -> bool:
        return self._update(CLAIM, {"id": job_id, "worker": worker, "at": at}) > 0

    def state(self, job_id: str) -> LeaseState | None:
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(STATE, {"id": job_id})
            row = cur.fetchone()
        if row is None:
            return None
        idle = None if row["idle_s"] is None else float(row["idle_s"])
        return LeaseState(row["status"], int(row["attempts"]), row["worker"], idle)

    def heartbeat(self, job_ids: list[str]) -> int:
        return self._update(HEARTBEAT, {"ids": tuple(job_ids)}) if job_ids else 0

    def watch(self, job_ids: list[str]) -> tuple[set[str], set[str]]:
        """Of these jobs: those cancelled, and those whose previews a stream wants."""
        if not job_ids:
            return set(), set()
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(WATCH, {"ids": tuple(job_ids)})
            rows = cur.fetchall()
        return {row["id"] for row in rows if row["cancelled"]}, {row["id"] for row in rows if row["previews"]}

    def want_previews(self, job_id: str, *, for_s: int) -> None:
        self._update(WANT_PREVIEWS, {"id": job_id, "for_s": for_s})

    def cancel_queued(self, job_id: str, *, at: datetime) -> bool:
        """Cancel a job only if no worker has started it (a synchronous client left); its uploads go with it."""
        with self.pool.transaction() as conn, conn.cursor() as cur:
            cancelled = cur.execute(CANCEL_QUEUED, {"id": job_id, "at": at}) > 0
            if cancelled:
                cur.execute(DELETE_INPUTS, {"job_id": job_id})
        return cancelled

    def _update(self, sql: str, row: dict) -> int:
        with self.pool.transaction() as conn, conn.cursor() as cur:
            return cur.execute(sql, row)
