"""An edit's uploaded images and mask, kept in ``job_inputs`` beside its job until the job ends."""

from __future__ import annotations

from data.connection import Pool
from data.write import Write

INSERT_INPUT = "INSERT INTO job_inputs (job_id, name, content) VALUES (%(job_id)s, %(name)s, %(content)s)"
SELECT_INPUTS = "SELECT name, content FROM job_inputs WHERE job_id = %(job_id)s"
DELETE_INPUTS = "DELETE FROM job_inputs WHERE job_id = %(job_id)s"


class JobInputRepository:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    @staticmethod
    def writes(job_id: str, inputs: dict[str, bytes]) -> list[Write]:
        """The rows for ``inputs`` (name -> content), for the job's own insert: both commit or neither."""
        return [Write(INSERT_INPUT, {"job_id": job_id, "name": name, "content": data}) for name, data in inputs.items()]

    def get(self, job_id: str) -> dict[str, bytes]:
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(SELECT_INPUTS, {"job_id": job_id})
            return {row["name"]: bytes(row["content"]) for row in cur.fetchall()}

    def delete(self, job_id: str) -> int:
        with self.pool.transaction() as conn, conn.cursor() as cur:
            return cur.execute(DELETE_INPUTS, {"job_id": job_id})
