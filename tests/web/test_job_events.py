"""A job's Server-Sent Events through HTTP: order, ids, resuming, previews, heartbeats and headers."""

from __future__ import annotations

import base64
import io
import json
import threading
import time

import pytest
from PIL import Image

from tests.web.test_jobs import wait_for
from web import sse


def parse(text: str) -> list[dict]:
    """SSE frames as dicts: id, event, data (parsed JSON); comment frames as {"comment": ...}."""
    frames = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        frame: dict = {}
        for line in block.split("\n"):
            if line.startswith(":"):
                frame["comment"] = line[1:].strip()
            else:
                key, _, value = line.partition(": ")
                frame[key] = json.loads(value) if key == "data" else value
        frames.append(frame)
    return frames


def events_of(client, job_id: str, **kwargs) -> tuple[list[dict], object]:
    response = client.get(f"/jobs/{job_id}/events", **kwargs)
    assert response.status_code == 200, response.text
    return [f for f in parse(response.text) if "event" in f], response


def finished_job(client, steps: int = 3) -> dict:
    job = client.post("/jobs", json={"prompt": "a kite", "steps": steps}).json()
    wait_for(client, job["id"], "succeeded")
    return job


def test_a_stream_sends_queued_started_progress_then_the_job_with_ids_in_order(client):
    job = finished_job(client, steps=3)
    events, response = events_of(client, job["id"])
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert [e["event"] for e in events] == ["queued", "started", "progress", "progress", "progress", "succeeded"]
    assert [int(e["id"]) for e in events] == list(range(1, 7))
    assert events[0]["data"] == {"position": 0}
    assert [(e["data"]["step"], e["data"]["steps"]) for e in events[2:5]] == [(1, 3), (2, 3), (3, 3)]
    assert events[4]["data"]["progress"] == 1.0 and "eta_ms" in events[4]["data"]
    assert all(abs(e["data"]["at"] - time.time()) < 60 for e in events[2:5])  # the step's wall time
    done = events[-1]["data"]
    assert (done["id"], done["status"], len(done["images"])) == (job["id"], "succeeded", 1)


def test_last_event_id_resumes_after_it_with_nothing_twice(client):
    job = finished_job(client, steps=3)
    first, _ = events_of(client, job["id"])
    rest, _ = events_of(client, job["id"], headers={"Last-Event-ID": "3"})
    assert [e["id"] for e in rest] == [e["id"] for e in first[3:]]
    assert rest[-1]["event"] == "succeeded"


def test_a_finished_jobs_stream_after_a_restart_is_its_terminal_event_at_once(client, make_client):
    job = finished_job(client)
    restarted = make_client()  # a second app on the same database: its event log is empty
    started = time.monotonic()
    events, _ = events_of(restarted, job["id"])
    assert time.monotonic() - started < 2
    assert [(e["event"], e["id"]) for e in events] == [("succeeded", "1")]
    assert events[0]["data"]["images"] == client.get(f"/jobs/{job['id']}").json()["images"]
    resumed, _ = events_of(restarted, job["id"], headers={"Last-Event-ID": "6"})
    assert [(e["event"], e["id"]) for e in resumed] == [("succeeded", "7")]


def test_a_cancelled_jobs_stream_ends_with_cancelled(make_held_client):
    held = make_held_client(pixy_max_batch=1)
    held.client.post("/jobs", json={"prompt": "first", "steps": 1})
    held.wait_until_running()
    second = held.client.post("/jobs", json={"prompt": "second", "steps": 1}).json()
    assert held.client.delete(f"/jobs/{second['id']}").status_code == 200
    events, _ = events_of(held.client, second["id"])
    assert [e["event"] for e in events] == ["queued", "cancelled"]
    assert events[-1]["data"]["status"] == "cancelled"


@pytest.mark.parametrize("beyond", [0, 1, 50])
def test_a_last_event_id_at_or_past_a_finished_jobs_end_ends_the_stream_with_its_outcome(client, beyond):
    job = finished_job(client, steps=2)
    every, _ = events_of(client, job["id"])
    last = int(every[-1]["id"])
    done = threading.Event()
    found: list = []

    def stream() -> None:
        found.append(events_of(client, job["id"], headers={"Last-Event-ID": str(last + beyond)})[0])
        done.set()

    threading.Thread(target=stream, daemon=True).start()
    assert done.wait(10), "the stream of a finished job never ended"
    [outcome] = found[0]
    assert outcome["event"] == "succeeded"


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", " 2", "٣".encode(), "9" * 40])
def test_a_garbage_last_event_id_is_422_naming_it(client, value):
    job = finished_job(client, steps=1)
    response = client.get(f"/jobs/{job['id']}/events", headers={"Last-Event-ID": value})
    assert response.status_code == 422
    assert response.json()["field"] == "Last-Event-ID"


@pytest.mark.parametrize("job_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "' OR 1=1 --"])
def test_an_unknown_or_malformed_jobs_events_are_404(client, job_id):
    response = client.get(f"/jobs/{job_id}/events")
    assert response.status_code == 404
    assert response.json()["detail"] == "job not found"


def stream_in_background(client, path: str) -> tuple[threading.Thread, dict]:
    out: dict = {}
    thread = threading.Thread(target=lambda: out.update(response=client.get(path)), daemon=True)
    thread.start()
    return thread, out


def test_previews_come_only_when_asked_and_decode_as_small_jpegs(make_held_client):
    held = make_held_client(pixy_max_batch=1)
    held.generator.previews = True  # the held wrapper passes every hook through to the tiny pipeline
    job = held.client.post("/jobs", json={"prompt": "a kite", "steps": 3, "width": 64, "height": 64}).json()
    held.wait_until_running()
    jobs = held.client.app.state.container.jobs
    thread, out = stream_in_background(held.client, f"/jobs/{job['id']}/events?previews=1")
    deadline = time.monotonic() + 10
    while not jobs.previews.wanted(job["id"]):
        assert time.monotonic() < deadline, "the stream never attached"
        time.sleep(0.01)
    held.release()
    thread.join(timeout=30)
    events = [f for f in parse(out["response"].text) if "event" in f]
    previews = [e for e in events if e["event"] == "preview"]
    assert [(p["data"]["step"], p["data"]["steps"], p["data"]["index"]) for p in previews] == [
        (1, 3, 0),
        (2, 3, 0),
        (3, 3, 0),
    ]
    for preview in previews:
        image = Image.open(io.BytesIO(base64.b64decode(preview["data"]["image"])))
        assert (image.format, image.size) == ("JPEG", (8, 8))  # the latents' size: 1/8 of the image
    assert events[-1]["event"] == "succeeded"
    assert [int(e["id"]) for e in events] == list(range(1, len(events) + 1))
    plain, _ = events_of(held.client, job["id"])
    assert "preview" not in [e["event"] for e in plain]
    assert not jobs.previews.wanted(job["id"])


def test_a_waiting_stream_sends_heartbeat_comments(make_held_client, monkeypatch):
    monkeypatch.setattr(sse, "HEARTBEAT_S", 0.05)
    held = make_held_client()
    job = held.client.post("/jobs", json={"prompt": "a kite", "steps": 1}).json()
    held.wait_until_running()
    thread, out = stream_in_background(held.client, f"/jobs/{job['id']}/events")
    time.sleep(0.5)
    held.release()
    thread.join(timeout=30)
    frames = parse(out["response"].text)
    assert {"comment": "heartbeat"} in frames
    assert frames[-1]["event"] == "succeeded"
