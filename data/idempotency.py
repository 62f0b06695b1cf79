"""Idempotency keys: which job a (route, key) names, claimed in the same transaction that adds the job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pymysql.cursors import Cursor

# An expired row is taken over by the new claim; a live one keeps its job and body, and wins.
CLAIM_KEY = (
    "INSERT INTO idempotency_keys (route, key_sha256, body_sha256, job_id, created_at) "
    "VALUES (%(route)s, %(key_sha256)s, %(body_sha256)s, %(job_id)s, %(created_at)s) "
    "ON DUPLICATE KEY UPDATE "
    "body_sha256 = IF(created_at < %(expired_before)s, VALUES(body_sha256), body_sha256), "
    "job_id = IF(created_at < %(expired_before)s, VALUES(job_id), job_id), "
    "created_at = IF(created_at < %(expired_before)s, VALUES(created_at), created_at)"
)
SELECT_KEY = (
    "SELECT job_id, body_sha256 FROM idempotency_keys "
    "WHERE route = %(route)s AND key_sha256 = %(key_sha256)s FOR UPDATE"
)
PURGE_EXPIRED = "DELETE FROM idempotency_keys WHERE created_at < %(expired_before)s LIMIT 500"


@dataclass(frozen=True)
class KeyClaim:
    """A request's key and body, hashed; rows older than ``expired_before`` no longer count."""

    route: str
    key_sha256: str
    body_sha256: str
    expired_before: datetime


@dataclass(frozen=True)
class KeyOwner:
    job_id: str
    body_sha256: str


def claim_key(cur: Cursor, claim: KeyClaim, *, job_id: str, created_at: datetime) -> KeyOwner:
    """Claim the key for ``job_id``, or find the job that holds it; the caller's transaction decides."""
    row = {
        "route": claim.route,
        "key_sha256": claim.key_sha256,
        "body_sha256": claim.body_sha256,
        "job_id": job_id,
        "created_at": created_at,
        "expired_before": claim.expired_before,
    }
    cur.execute(CLAIM_KEY, row)
    cur.execute(SELECT_KEY, row)
    found = cur.fetchone()
    return KeyOwner(job_id=found["job_id"], body_sha256=found["body_sha256"])


def purge_expired(cur: Cursor, *, expired_before: datetime) -> int:
    return cur.execute(PURGE_EXPIRED, {"expired_before": expired_before})
