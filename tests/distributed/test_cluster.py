"""Two API processes and two GPU workers on RabbitMQ, end to end (issue 12).

The cluster is shared by the module: each test uses prompts of its own and counts only its own rows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from core.settings import ROOT, Settings
from service.distributed.celery_app import RUN_JOB, make_celery, queue_name
from tests.distributed.conftest import WORKER, Cluster
from tests.distributed.helpers import (
    images_with_prompt,
    job_rows,
    jobs_with_prompt,
    read_events,
    scalar_row,
    submit,
    wait_finished,
)
from tests.tcp_proxy import TcpProxy


def test_jobs_spread_over_both_ports_all_succeed_on_both_workers_and_every_image_reads_from_both(cluster):
    a, b = cluster.apis
    jobs = [submit((a, b)[i % 2].url, f"spread {i}", n=1 + i % 2) for i in range(24)]
    rows = wait_finished(cluster.settings, [job["id"] for job in jobs])
    assert {row["status"] for row in rows.values()} == {"succeeded"}, [r["error"] for r in rows.values()]
    assert all(len(row["images"]) == row["n"] for row in rows.values())
    assert {row["worker"] for row in rows.values()} == {"w1@test", "w2@test"}  # both workers took some
    guids = [guid for row in rows.values() for guid in row["images"]]
    assert len(guids) == len(set(guids)) == 36
    with httpx.Client(timeout=30) as client:
        for guid in guids:
            details = [client.get(f"{api.url}/image/{guid}") for api in (a, b)]
            contents = [client.get(f"{api.url}/image/{guid}/content") for api in (a, b)]
            assert [r.status_code for r in details + contents] == [200] * 4
            assert details[0].json() == details[1].json()
            assert contents[0].content == contents[1].content
            assert contents[0].content.startswith(b"\x89PNG\r\n\x1a\n")


def test_ready_reports_the_broker_and_both_workers_with_their_model_and_metrics_the_queue_depth(cluster):
    for api in cluster.apis:
        ready = httpx.get(api.url + "/ready", timeout=10)
        assert ready.status_code == 200
        body = ready.json()
        assert body["mode"] == "distributed" and body["broker"] is True and body["database"] is True
        assert body["workers"] == 2
        assert {(node["name"], node["model"]) for node in body["worker_nodes"]} == {
            ("w1@test", "tiny"),
            ("w2@test", "tiny"),
        }
        assert body["queues"] == {"pixy.tiny": 0, "pixy-now.tiny": 0}
        assert body["models"] == {"tiny": ["w1@test", "w2@test"]}
        metrics = httpx.get(api.url + "/metrics", timeout=10).text
        assert 'pixy_broker_queue_depth{queue="pixy.tiny"} 0.0' in metrics
        assert 'pixy_broker_queue_depth{queue="pixy-now.tiny"} 0.0' in metrics


def test_an_sse_stream_on_one_port_follows_a_job_submitted_on_the_other_and_resumes_after_last_event_id(cluster):
    a, b = cluster.apis
    job = submit(b.url, "followed", steps=40, width=128, height=128)
    with httpx.Client(base_url=a.url, timeout=60) as client:
        with client.stream("GET", f"/jobs/{job['id']}/events") as response:
            assert response.status_code == 200
            first = read_events(response, stop_after=4)  # queued, started, two progress; then the client drops
        last = first[-1]["id"]
        with client.stream("GET", f"/jobs/{job['id']}/events", headers={"Last-Event-ID": last}) as response:
            rest = read_events(response)
    assert [e["event"] for e in first] == ["queued", "started", "progress", "progress"]
    assert rest and all(int(e["id"]) > int(last) for e in rest)
    events = first + rest
    assert [int(e["id"]) for e in events] == list(range(1, len(events) + 1))
    assert [e["event"] for e in rest[:-1]] == ["progress"] * (len(rest) - 1)
    assert rest[-1]["event"] == "succeeded"
    steps = [e["data"]["step"] for e in events if e["event"] == "progress"]
    assert steps == sorted(set(steps)) and steps[-1] == 40


def test_a_delete_on_one_port_stops_a_job_a_worker_runs_for_the_other_within_a_few_steps(cluster):
    a, b = cluster.apis
    # Slow steps (four 512x512 images a step): the job's run sees the cancel before the generator's next step.
    job = submit(b.url, "cancelled on a", steps=100, n=4, width=512, height=512)
    with httpx.Client(timeout=30) as client:
        deadline, step = time.monotonic() + 60, 0
        while step < 3:
            seen = client.get(f"{a.url}/jobs/{job['id']}").json()
            step = seen["step"]
            assert time.monotonic() < deadline, seen
            time.sleep(0.05)
        cancelled = client.delete(f"{a.url}/jobs/{job['id']}")
        deleted_at = time.time()
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        time.sleep(3)  # many steps' time: a generator that ignored the cancel would go on reporting them
        with client.stream("GET", f"{b.url}/jobs/{job['id']}/events") as response:
            assert read_events(response)[-1]["event"] == "cancelled"
    # What the worker reported, read from MySQL (a stream ends at the cancelled event, and shows nothing after).
    sql = (
        "SELECT MAX(at), MAX(CAST(JSON_VALUE(data, '$.step') AS UNSIGNED)) FROM job_events "
        "WHERE job_id = %(id)s AND kind = 'progress'"
    )
    last_at, last_step = scalar_row(cluster.settings, sql, {"id": job["id"]})
    assert last_at < deleted_at + 1.0 and int(last_step) < 400, (step, last_step, last_at - deleted_at)
    rows = job_rows(cluster.settings, [job["id"]])
    assert rows[job["id"]]["status"] == "cancelled" and rows[job["id"]]["images"] == []
    assert images_with_prompt(cluster.settings, "cancelled on a") == 0


def test_a_task_delivered_twice_runs_its_job_once(cluster):
    job = submit(cluster.apis[0].url, "delivered thrice", steps=10, n=2)
    app = make_celery(Settings(pixy_broker_url=cluster.broker))
    extra = [app.send_task(RUN_JOB, args=[job["id"]], queue=queue_name("tiny")).id for _ in range(2)]
    rows = wait_finished(cluster.settings, [job["id"]])
    assert rows[job["id"]]["status"] == "succeeded" and rows[job["id"]]["attempts"] == 1
    deadline = time.monotonic() + 20  # the extra deliveries end once they see the job has ended
    while not all(any(f"[{task}] succeeded" in w.tail(10**6) for w in cluster.workers.values()) for task in extra):
        assert time.monotonic() < deadline, "the extra deliveries never ran"
        time.sleep(0.2)
    assert images_with_prompt(cluster.settings, "delivered thrice") == 2
    assert len(job_rows(cluster.settings, [job["id"]])[job["id"]]["images"]) == 2


def test_broker_outage_answers_503_stores_nothing_keeps_reads_and_recovers_without_a_restart(cluster):
    proxy = TcpProxy(("127.0.0.1", 5672))
    proxy.up()
    vhost = cluster.broker.rsplit("/", 1)[1]
    api = cluster.start_api(PIXY_BROKER_URL=f"amqp://guest:guest@127.0.0.1:{proxy.port}/{vhost}")
    try:
        assert submit(api.url, "before the outage")["status"] == "queued"
        proxy.down()
        refused = httpx.post(api.url + "/jobs", json={"prompt": "during the outage", "steps": 4}, timeout=30)
        assert refused.status_code == 503
        assert int(refused.headers["Retry-After"]) > 0
        assert refused.headers["content-type"].startswith("application/json")
        assert "queue" in refused.json()["detail"]
        assert jobs_with_prompt(cluster.settings, "during the outage") == 0
        assert httpx.get(api.url + "/image/", timeout=30).status_code == 200
        assert httpx.get(api.url + "/jobs", timeout=30).status_code == 200
        ready = httpx.get(api.url + "/ready", timeout=30)
        assert ready.status_code == 503 and ready.json()["broker"] is False
        proxy.hang()  # a broker that accepts and never answers (a partition) is refused as fast, not waited on
        started = time.monotonic()
        stalled = httpx.post(api.url + "/jobs", json={"prompt": "during the outage", "steps": 4}, timeout=30)
        assert stalled.status_code == 503 and time.monotonic() - started < 10
        assert jobs_with_prompt(cluster.settings, "during the outage") == 0
        proxy.up()
        job = submit(api.url, "after the outage")
        rows = wait_finished(cluster.settings, [job["id"]])
        assert rows[job["id"]]["status"] == "succeeded"
        assert httpx.get(api.url + "/ready", timeout=30).json()["broker"] is True
    finally:
        api.stop()
        cluster.apis.remove(api)
        proxy.close()


def refusal(env: dict[str, str], argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_startup_refusals_are_one_line_and_a_non_zero_exit(cluster: Cluster):
    api = [sys.executable, "-m", "web"]
    cases = {
        "closed broker port": (api, {"PIXY_BROKER_URL": "amqp://guest:guest@127.0.0.1:1//"}, "unreachable"),
        "not a broker": (api, {"PIXY_BROKER_URL": "http://127.0.0.1:5672/"}, "amqp:// or redis://"),
        "no model": (WORKER, {"PIXY_MODEL": "nope/missing", "PIXY_WORKER_NAME": "nomodel@test"}, "nope/missing"),
        "a listed model missing": (
            WORKER,
            {"PIXY_MODELS": "nope/listed", "PIXY_WORKER_NAME": "listedmissing@test"},
            "'nope/listed'",
        ),
    }
    running = {
        name: refusal(os.environ | cluster.env(PIXY_PORT="0", **env), argv) for name, (argv, env, _) in cases.items()
    }
    refused = {}
    for name, process in running.items():
        out, err = process.communicate(timeout=120)
        assert process.returncode == 2, (name, out, err)
        assert "Traceback" not in out + err, (name, err)
        lines = [line for line in err.splitlines() if line.startswith("pixyproxy")]
        assert len(lines) == 1, (name, err)
        assert cases[name][2] in lines[0], (name, lines[0])
        refused[name] = lines[0]
    ready = httpx.get(cluster.apis[0].url + "/ready", timeout=10).json()
    assert sorted(node["name"] for node in ready["worker_nodes"]) == ["w1@test", "w2@test"]


@pytest.fixture(autouse=True)
def _workers_alive(cluster):
    yield
    for worker in cluster.workers.values():
        assert worker.process.poll() is None, worker.tail()
