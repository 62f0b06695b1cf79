"""Chores one process of a deployment runs at a time: a lease on a row, renewed by its holder, taken over
by another process once it has lapsed (its holder died, or stopped renewing)."""

from __future__ import annotations

from data.connection import Pool

# Assignments run left to right: once ``holder`` is ours, ``until`` follows; while another holds an unexpired
# lease, neither changes.
HOLD = (
    "INSERT INTO chore_leases (name, holder, until) "
    "VALUES (%(name)s, %(holder)s, UTC_TIMESTAMP(6) + INTERVAL %(for_ms)s * 1000 MICROSECOND) "
    "ON DUPLICATE KEY UPDATE "
    "holder = IF(until < UTC_TIMESTAMP(6) OR holder = VALUES(holder), VALUES(holder), holder), "
    "until = IF(holder = VALUES(holder), VALUES(until), until)"
)
HOLDER = "SELECT holder FROM chore_leases WHERE name = %(name)s"


class ChoreLeases:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    def hold(self, name: str, *, holder: str, for_s: float) -> bool:
        """Take or renew the chore for ``for_s`` seconds; False while another process holds it."""
        with self.pool.transaction() as conn, conn.cursor() as cur:
            cur.execute(HOLD, {"name": name, "holder": holder, "for_ms": int(for_s * 1000)})
            cur.execute(HOLDER, {"name": name})
            return cur.fetchone()["holder"] == holder
