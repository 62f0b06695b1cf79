"""Submitting jobs to a cluster's API processes, waiting for them, and reading what MySQL holds of them."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator

import httpx
from pymysql.cursors import DictCursor

from core.settings import Settings
from tests.conftest import outside_connection

TERMINAL = ("succeeded", "failed", "cancelled")
SMALL = {"width": 64, "height": 64}


def submit(url: str, prompt: str, *, steps: int = 4, n: int = 1, **body) -> dict:
    body = SMALL | {"prompt": prompt, "steps": steps, "n": n} | body
    response = httpx.post(url + "/jobs", json=body, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()


def job_rows(settings: Settings, ids: list[str]) -> dict[str, dict]:
    """The jobs' rows as MySQL holds them (status, n, attempts, worker, images as a list)."""
    with outside_connection(settings) as conn, conn.cursor(DictCursor) as cur:
        cur.execute("SELECT id, status, n, attempts, worker, images, error FROM jobs WHERE id IN %(ids)s", {"ids": ids})
        rows = {row["id"]: row for row in cur.fetchall()}
    for row in rows.values():
        row["images"] = json.loads(row["images"])
    return rows


def wait_finished(settings: Settings, ids: list[str], timeout: float = 90) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = job_rows(settings, ids)
        if len(rows) == len(ids) and all(row["status"] in TERMINAL for row in rows.values()):
            return rows
        time.sleep(0.2)
    rows = job_rows(settings, ids)
    pending = {job_id: row["status"] for job_id, row in rows.items() if row["status"] not in TERMINAL}
    raise AssertionError(f"jobs not finished in {timeout:.0f} s: {pending}")


def scalar_row(settings: Settings, sql: str, args: dict | None = None) -> tuple:
    with outside_connection(settings) as conn, conn.cursor() as cur:
        cur.execute(sql, args or {})
        return cur.fetchone()


def scalar(settings: Settings, sql: str, args: dict | None = None):
    return scalar_row(settings, sql, args)[0]


def images_with_prompt(settings: Settings, prompt: str) -> int:
    return scalar(settings, "SELECT COUNT(*) FROM images WHERE prompt = %(p)s", {"p": prompt})


def jobs_with_prompt(settings: Settings, prompt: str) -> int:
    return scalar(settings, "SELECT COUNT(*) FROM jobs WHERE params LIKE %(p)s", {"p": f'%"prompt":"{prompt}"%'})


def iter_events(response: httpx.Response) -> Iterator[dict]:
    """SSE frames as dicts (id, event, data, and ``received``: the wall time it arrived), as they arrive."""
    frame: dict = {}
    for line in response.iter_lines():
        if line == "" and frame:
            yield frame | {"received": time.time()}
            frame = {}
        elif line.startswith(("id: ", "event: ")):
            key, _, value = line.partition(": ")
            frame[key] = value
        elif line.startswith("data: "):
            frame["data"] = json.loads(line[6:])


def read_events(response: httpx.Response, stop_after: int | None = None) -> list[dict]:
    """SSE frames as dicts, up to ``stop_after`` frames or the stream's end (a list: it waits for them all)."""
    return list(itertools.islice(iter_events(response), stop_after))
