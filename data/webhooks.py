"""Webhook deliveries: one row per finished job with a webhook_url, kept until delivered or given up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from data.connection import Pool

INSERT_DELIVERY = (
    "INSERT IGNORE INTO webhook_deliveries (job_id, url, payload, status, next_attempt_at, created_at) "
    "VALUES (%(job_id)s, %(url)s, %(payload)s, 'pending', %(at)s, %(at)s)"
)
SELECT_DUE = (
    "SELECT id, job_id, url, payload, attempts, created_at FROM webhook_deliveries "
    "WHERE status = 'pending' AND next_attempt_at <= %(at)s ORDER BY next_attempt_at LIMIT %(limit)s"
)
SELECT_NEXT_DUE = "SELECT MIN(next_attempt_at) AS at FROM webhook_deliveries WHERE status = 'pending'"
# Taking a delivery moves its next attempt past the lease, so a second process (or a restart mid-send) waits.
TAKE_DELIVERY = (
    "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = %(lease_until)s "
    "WHERE id = %(id)s AND status = 'pending' AND next_attempt_at <= %(at)s"
)
SETTLE_DELIVERY = (
    "UPDATE webhook_deliveries SET status = %(status)s, next_attempt_at = %(next_at)s, last_error = %(error)s "
    "WHERE id = %(id)s"
)
# Jobs that finished (within the window) with a webhook but no delivery row: the process died in between.
# Retention: settled deliveries long past, a batch at a time (a pending one is kept until it settles).
PRUNE_SETTLED = (
    "DELETE FROM webhook_deliveries WHERE status IN ('delivered', 'failed') AND created_at < %(before)s "
    "ORDER BY id LIMIT %(limit)s"
)
SELECT_MISSED = (
    "SELECT j.id, j.webhook_url FROM jobs j LEFT JOIN webhook_deliveries d ON d.job_id = j.id "
    "WHERE j.webhook_url IS NOT NULL AND j.finished_at >= %(since)s AND d.id IS NULL "
    "AND j.status IN ('succeeded', 'failed', 'cancelled')"
)


@dataclass(frozen=True)
class Delivery:
    id: int
    job_id: str
    url: str
    payload: str
    attempts: int
    created_at: datetime


class WebhookDeliveryRepository:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    def add(self, *, job_id: str, url: str, payload: str, at: datetime) -> None:
        """Record a delivery due now; a job's second finish (it has none) would add nothing."""
        with self.pool.transaction() as conn, conn.cursor() as cur:
            cur.execute(INSERT_DELIVERY, {"job_id": job_id, "url": url, "payload": payload, "at": at})

    def due(self, *, at: datetime, limit: int = 20) -> list[Delivery]:
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(SELECT_DUE, {"at": at, "limit": limit})
            return [Delivery(**row) for row in cur.fetchall()]

    def next_due(self) -> datetime | None:
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(SELECT_NEXT_DUE)
            return cur.fetchone()["at"]

    def take(self, delivery_id: int, *, at: datetime, lease_until: datetime) -> bool:
        """Count an attempt and hold the delivery until ``lease_until``; False when another took it."""
        row = {"id": delivery_id, "at": at, "lease_until": lease_until}
        with self.pool.transaction() as conn, conn.cursor() as cur:
            return cur.execute(TAKE_DELIVERY, row) > 0

    def settle(self, delivery_id: int, *, status: str, next_at: datetime, error: str | None = None) -> None:
        """``delivered`` or ``failed`` for good, or ``pending`` again until ``next_at``."""
        row = {"id": delivery_id, "status": status, "next_at": next_at, "error": (error or None) and error[:255]}
        with self.pool.transaction() as conn, conn.cursor() as cur:
            cur.execute(SETTLE_DELIVERY, row)

    def missed(self, *, since: datetime) -> list[tuple[str, str]]:
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(SELECT_MISSED, {"since": since})
            return [(row["id"], row["webhook_url"]) for row in cur.fetchall()]

    def prune_settled(self, *, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` settled deliveries created before ``before``; how many went."""
        with self.pool.transaction() as conn, conn.cursor() as cur:
            return cur.execute(PRUNE_SETTLED, {"before": before, "limit": limit})
