"""The processes of a distributed deployment: each API process and GPU worker keeps its row fresh."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from data.connection import Pool

UPSERT = (
    "INSERT INTO nodes (name, role, model, info, schema_version, started_at, seen_at) "
    "VALUES (%(name)s, %(role)s, %(model)s, %(info)s, %(schema_version)s, %(started_at)s, UTC_TIMESTAMP(6)) "
    "ON DUPLICATE KEY UPDATE role = VALUES(role), model = VALUES(model), info = VALUES(info), "
    "schema_version = VALUES(schema_version), started_at = VALUES(started_at), seen_at = UTC_TIMESTAMP(6)"
)
TOUCH = "UPDATE nodes SET seen_at = UTC_TIMESTAMP(6) WHERE name = %(name)s"
LEAVE = "DELETE FROM nodes WHERE name = %(name)s"
ALIVE = (
    "SELECT name, role, model, info, schema_version FROM nodes "
    "WHERE role = %(role)s AND seen_at > UTC_TIMESTAMP(6) - INTERVAL %(within_ms)s * 1000 MICROSECOND ORDER BY name"
)


@dataclass(frozen=True)
class Node:
    name: str
    role: str  # "api" or "worker"
    model: str
    info: dict
    schema_version: int

    @classmethod
    def from_row(cls, row: dict) -> Node:
        return cls(row["name"], row["role"], row["model"], json.loads(row["info"]), int(row["schema_version"]))


class NodeRepository:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    def register(self, node: Node, *, started_at: datetime) -> None:
        row = {"name": node.name, "role": node.role, "model": node.model, "info": json.dumps(node.info)}
        with self.pool.transaction() as conn, conn.cursor() as cur:
            cur.execute(UPSERT, row | {"schema_version": node.schema_version, "started_at": started_at})

    def touch(self, name: str) -> bool:
        with self.pool.transaction() as conn, conn.cursor() as cur:
            return cur.execute(TOUCH, {"name": name}) > 0

    def leave(self, name: str) -> None:
        with self.pool.transaction() as conn, conn.cursor() as cur:
            cur.execute(LEAVE, {"name": name})

    def alive(self, role: str, *, within_s: float) -> list[Node]:
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(ALIVE, {"role": role, "within_ms": int(within_s * 1000)})
            return [Node.from_row(row) for row in cur.fetchall()]
