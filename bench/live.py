"""Live events: how late a step's ``progress`` event reaches an SSE client, and how soon a cancel bites.

Each progress event carries ``at``, its step's wall time on the server; the client on the same machine
takes its own clock when the event arrives. A cancel is counted in steps: the progress events whose step
ended after the ``DELETE`` was sent (the step in flight then is expected to finish: at most 1).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import httpx

from bench import PROMPT
from bench.load import median

if TYPE_CHECKING:
    from bench.run import Bench

STEPS = 20
CANCEL_STEPS = 100  # PIXY_MAX_STEPS' default: long enough to be running when the cancel comes
CANCEL_AT_STEP = 3


def events(client: httpx.Client, job_id: str):
    """(kind, data, received wall time) for each event of a job's stream, until it closes."""
    with client.stream("GET", f"/jobs/{job_id}/events") as response:
        kind = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                yield kind, json.loads(line[6:]), time.time()


def submit(client: httpx.Client, steps: int) -> dict:
    response = client.post("/jobs", json={"prompt": PROMPT, "steps": steps})
    assert response.status_code == 202, response.text
    return response.json()


def progress_delays(client: httpx.Client) -> list[float]:
    job = submit(client, STEPS)
    return [(got - data["at"]) * 1000 for kind, data, got in events(client, job["id"]) if kind == "progress"]


def cancel_steps(client: httpx.Client) -> int:
    job = submit(client, CANCEL_STEPS)
    sent, after = None, 0
    for kind, data, _ in events(client, job["id"]):
        if kind == "progress" and sent is None and data["step"] >= CANCEL_AT_STEP:
            sent = time.time()  # when the DELETE is sent: the step then in flight counts against it
            assert client.delete(f"/jobs/{job['id']}").status_code == 200
        elif kind == "progress" and sent is not None and data["at"] > sent:
            after += 1
        elif kind in ("succeeded", "failed"):
            raise AssertionError(f"the cancelled job ended {kind}")
    return after


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def live(bench: Bench) -> None:
    res = bench.result
    with httpx.Client(base_url=bench.servers["main"].url, timeout=120) as client:
        delays = [d for _ in range(bench.args.live_jobs) for d in progress_delays(client)]
        cancels = [cancel_steps(client) for _ in range(bench.args.live_jobs)]
    res["progress_events"] = len(delays)
    res["progress_event_median_ms"] = median(delays)
    res["progress_event_p95_ms"] = p95(delays)
    res["cancel_latency_steps_runs"] = cancels
    res["cancel_latency_steps"] = max(cancels)
