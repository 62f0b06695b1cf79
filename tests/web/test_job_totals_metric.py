"""``/metrics`` carries the jobs table's totals per status, read from MySQL at scrape: every process's jobs."""

from __future__ import annotations

import re

from tests.web.test_jobs import wait_for


def stored_totals(text: str) -> dict[str, float]:
    return {status: float(n) for status, n in re.findall(r'pixy_jobs_stored\{status="(\w+)"\} (\S+)', text)}


def test_per_status_totals_match_what_mysql_holds(make_held_client, raw):
    held = make_held_client()
    running = held.client.post("/jobs", json={"prompt": "runs", "steps": 1}).json()
    held.wait_until_running()
    queued = held.client.post("/jobs", json={"prompt": "waits", "steps": 1}).json()
    assert held.client.delete(f"/jobs/{queued['id']}").status_code == 200
    with raw.cursor() as cur:  # a job another process ended: only the table knows of it
        cur.execute(
            "INSERT INTO jobs (id, status, params, n, images, created_at) "
            "SELECT UUID(), 'failed', params, n, '[]', created_at FROM jobs WHERE id = %s",
            (running["id"],),
        )
    assert stored_totals(held.client.get("/metrics").text) == {
        "queued": 0.0,
        "running": 1.0,
        "succeeded": 0.0,
        "failed": 1.0,
        "cancelled": 1.0,
    }
    held.release()
    wait_for(held.client, running["id"], "succeeded")
    with raw.cursor() as cur:
        cur.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status")
        in_mysql = {status: float(n) for status, n in cur.fetchall()}
    assert stored_totals(held.client.get("/metrics").text) == {
        "queued": 0.0,
        "running": 0.0,
        **in_mysql,
    }
    assert 'pixy_jobs_total{status="failed"}' not in held.client.get("/metrics").text  # this process ended none
