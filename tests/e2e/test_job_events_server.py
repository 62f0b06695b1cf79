"""A job's event stream from the real server: events arrive as their steps end, and a reconnect resumes."""

from __future__ import annotations

import json
import time

import httpx


def read_events(response: httpx.Response, stop_after: int | None = None) -> list[dict]:
    events, frame = [], {}
    for line in response.iter_lines():
        if line == "" and frame:
            events.append(frame | {"received": time.time()})
            frame = {}
            if stop_after is not None and len(events) >= stop_after:
                break
        elif line.startswith(("id: ", "event: ")):
            key, _, value = line.partition(": ")
            frame[key] = value
        elif line.startswith("data: "):
            frame["data"] = json.loads(line[6:])
    return events


def test_progress_arrives_live_and_a_reconnect_with_last_event_id_gets_the_rest_once(server):
    with httpx.Client(base_url=server.url, timeout=60) as client:
        job = client.post("/jobs", json={"prompt": "a kite", "steps": 40}).json()
        with client.stream("GET", f"/jobs/{job['id']}/events") as response:
            assert response.headers["x-accel-buffering"] == "no"
            first = read_events(response, stop_after=4)  # queued, started and two steps; then the client drops
        assert [e["event"] for e in first] == ["queued", "started", "progress", "progress"]
        # Delivered while the job ran: well before its last step, each within a poll of its step's time.
        assert all(e["received"] - e["data"]["at"] < 1.0 for e in first[2:])
        resumed = client.stream("GET", f"/jobs/{job['id']}/events", headers={"Last-Event-ID": first[-1]["id"]})
        with resumed as response:
            rest = read_events(response)
    ids = [int(e["id"]) for e in first + rest]
    assert ids == list(range(1, len(ids) + 1))
    assert rest[-1]["event"] == "succeeded"
    assert [e["data"]["step"] for e in first + rest if e["event"] == "progress"] == list(range(1, 41))
