"""Job events in MySQL, for the distributed mode: a worker appends, any API process streams them."""

from __future__ import annotations

from data.connection import Pool

# Appends to one job are serialised by its row lock, so each event's id is the last one plus one. The last id
# is a plain read (its snapshot taken after the lock, so it sees every earlier append), then a plain INSERT: an
# INSERT ... SELECT MAX(id) would take shared gap locks, and two new jobs whose ids fall in one gap deadlock.
LOCK_JOB = "SELECT seq FROM jobs WHERE id = %(job_id)s FOR UPDATE"
NEXT_ID = "SELECT COALESCE(MAX(id), 0) + 1 AS id FROM job_events WHERE job_id = %(job_id)s"
APPEND = "INSERT INTO job_events (job_id, id, kind, data, at) VALUES (%(job_id)s, %(id)s, %(kind)s, %(data)s, %(at)s)"
SELECT_SINCE = "SELECT id, kind, data, at FROM job_events WHERE job_id = %(job_id)s AND id > %(after)s ORDER BY id"
LATEST_OF_KIND = "SELECT data FROM job_events WHERE job_id = %(job_id)s AND kind = %(kind)s ORDER BY id DESC LIMIT 1"
LAST_IDS = "SELECT job_id, MAX(id) AS last FROM job_events WHERE job_id IN %(job_ids)s GROUP BY job_id"
ANY_EVENT = "SELECT 1 FROM job_events WHERE job_id = %(job_id)s LIMIT 1"
PURGE = "DELETE job_events FROM job_events JOIN jobs ON jobs.id = job_events.job_id WHERE jobs.finished_at < %(before)s"


class JobEventLog:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    def append(self, job_id: str, kind: str, data: str, at: float) -> int | None:
        """The new event's id; None when the job has no row (nothing can stream it)."""
        row = {"job_id": job_id, "kind": kind, "data": data, "at": at}
        with self.pool.transaction() as conn, conn.cursor() as cur:
            if not cur.execute(LOCK_JOB, row):
                return None
            cur.execute(NEXT_ID, row)
            event_id = int(cur.fetchone()["id"])
            cur.execute(APPEND, row | {"id": event_id})
            return event_id

    def since(self, job_id: str, after: int) -> list[dict]:
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(SELECT_SINCE, {"job_id": job_id, "after": after})
            return list(cur.fetchall())

    def last_ids(self, job_ids: list[str]) -> dict[str, int]:
        """The newest event id of each of these jobs that has any."""
        if not job_ids:
            return {}
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(LAST_IDS, {"job_ids": tuple(job_ids)})
            return {row["job_id"]: int(row["last"]) for row in cur.fetchall()}

    def exists(self, job_id: str) -> bool:
        with self.pool.connection() as conn, conn.cursor() as cur:
            return cur.execute(ANY_EVENT, {"job_id": job_id}) > 0

    def purge(self, *, finished_before) -> int:
        with self.pool.transaction() as conn, conn.cursor() as cur:
            return cur.execute(PURGE, {"before": finished_before})

    def latest(self, job_id: str, kind: str) -> str | None:
        """The data of a job's last event of ``kind`` (its progress, for ``GET /jobs/{id}``)."""
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(LATEST_OF_KIND, {"job_id": job_id, "kind": kind})
            row = cur.fetchone()
        return row["data"] if row else None
