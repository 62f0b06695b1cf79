"""Per-model routing (issue 19): workers with different models behind one API process, on RabbitMQ.

A job goes to its model's queues, which only the workers serving that model consume, so it lands on one of
them (the ``worker`` of its row); a model no live worker serves is refused at submission with a 503 naming it,
and nothing is stored. The stranded-jobs sweep sends a job again to its own model's queue.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from core.clock import now
from core.settings import Settings
from service.distributed.celery_app import make_celery, queue_name
from tests.conftest import outside_connection
from tests.distributed.conftest import Cluster, make_cluster
from tests.distributed.helpers import images_with_prompt, jobs_with_prompt, submit, wait_finished

TINY, XL = "t1@test", "x1@test"
STRANDED_AFTER_S = 2


@pytest.fixture(scope="module")
def routed(database, amqp, tmp_path_factory) -> Iterator[Cluster]:
    """One API process (default model tiny), a worker serving tiny and one serving tiny-xl."""
    running = make_cluster(
        database,
        amqp,
        tmp_path_factory.mktemp("routed"),
        apis=1,
        workers=[TINY, XL],
        worker_env={XL: {"PIXY_MODEL": "tiny-xl"}},
        PIXY_STRANDED_AFTER_S=str(STRANDED_AFTER_S),
    )
    yield running
    running.stop()


def test_queue_names_keep_ids_apart_and_a_worker_consumes_both_queues_of_each_of_its_models():
    assert queue_name("tiny") == "pixy.tiny" and queue_name("tiny", waited_on=True) == "pixy-now.tiny"
    assert queue_name("stabilityai/sd-turbo") == "pixy.stabilityai%2Fsd-turbo"
    ids = ["a/b", "a%2Fb", "a.b", "a_b", "A.b", "é", "x" * 300, "x" * 299 + "y"]
    names = [queue_name(model) for model in ids]
    assert len(set(names)) == len(ids) and all(len(name.encode()) <= 255 for name in names)
    app = make_celery(Settings(pixy_broker_url="amqp://unused"), models=["tiny", "tiny-xl"])
    assert [queue.name for queue in app.conf.task_queues] == [
        "pixy.tiny",
        "pixy-now.tiny",
        "pixy.tiny-xl",
        "pixy-now.tiny-xl",
    ]


def test_ready_and_models_say_which_workers_serve_each_model(routed):
    ready = httpx.get(routed.apis[0].url + "/ready", timeout=10).json()
    assert ready["models"] == {"tiny": [TINY], "tiny-xl": [XL]}
    assert {node["name"]: node["models"] for node in ready["worker_nodes"]} == {TINY: ["tiny"], XL: ["tiny-xl"]}
    assert set(ready["queues"]) == {"pixy.tiny", "pixy-now.tiny", "pixy.tiny-xl", "pixy-now.tiny-xl"}
    models = {m["id"]: m for m in httpx.get(routed.apis[0].url + "/models", timeout=10).json()}
    assert {model: entry["workers"] for model, entry in models.items()} == {"tiny": [TINY], "tiny-xl": [XL]}
    assert models["tiny"]["default"] and not models["tiny-xl"]["default"]
    assert models["tiny-xl"]["family"] == "StableDiffusionXLPipeline" and models["tiny-xl"]["defaults"]["steps"] == 3


def test_each_job_lands_on_a_worker_that_serves_its_model(routed):
    url = routed.apis[0].url
    jobs = {
        model: [submit(url, f"routed {model} {i}", model=model)["id"] for i in range(6)]
        for model in ("tiny-xl", "tiny")
    }
    jobs["tiny"].append(submit(url, "routed default")["id"])  # no model: the API's default, tiny
    waited = httpx.post(
        url + "/image/", json={"prompt": "routed now", "model": "tiny-xl", "width": 64, "height": 64}, timeout=120
    )
    assert waited.status_code == 200, waited.text
    assert waited.json()["model"] == "tiny-xl" and waited.json()["steps"] == 3  # tiny-xl's, as its worker registered
    rows = wait_finished(routed.settings, jobs["tiny"] + jobs["tiny-xl"], timeout=180)
    assert {row["status"] for row in rows.values()} == {"succeeded"}, [row["error"] for row in rows.values()]
    assert {rows[job]["worker"] for job in jobs["tiny"]} == {TINY}
    assert {rows[job]["worker"] for job in jobs["tiny-xl"]} == {XL}
    made = httpx.get(url + "/jobs/" + jobs["tiny-xl"][0], timeout=10).json()
    assert made["images"][0]["model"] == "tiny-xl"


@pytest.mark.parametrize("route", ["/jobs", "/image/"])
def test_a_model_no_live_worker_serves_is_a_503_naming_it_with_nothing_stored(routed, route):
    prompt = f"unserved via {route}"
    refused = httpx.post(routed.apis[0].url + route, json={"prompt": prompt, "model": "nobody/serves-this"}, timeout=30)
    assert refused.status_code == 503, refused.text
    assert "nobody/serves-this" in refused.json()["detail"] and refused.json()["field"] == "model"
    assert "tiny-xl" in refused.json()["detail"]  # and what is served
    assert int(refused.headers["Retry-After"]) > 0
    assert jobs_with_prompt(routed.settings, prompt) == 0 and images_with_prompt(routed.settings, prompt) == 0


def test_a_stranded_job_is_sent_again_to_its_own_models_queue(routed):
    """A crash between the row's commit and the publish; the tiny worker would fail a tiny-xl job."""
    job_id = str(uuid.uuid4())
    params = {"prompt": "stranded xl", "negative_prompt": "", "seed": 4, "steps": 2, "guidance_scale": 1.0}
    params |= {"width": 64, "height": 64, "model": "tiny-xl"}
    with outside_connection(routed.settings) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO jobs (id, status, params, n, images, created_at) VALUES (%s, 'queued', %s, 1, '[]', %s)",
            (job_id, json.dumps(params), now()),
        )
    row = wait_finished(routed.settings, [job_id], timeout=60)[job_id]
    assert (row["status"], row["worker"]) == ("succeeded", XL), row["error"]


def test_once_the_only_worker_of_a_model_leaves_it_is_refused(routed):
    routed.workers[XL].stop()
    deadline = time.monotonic() + 30
    while (
        answer := httpx.post(routed.apis[0].url + "/jobs", json={"prompt": "gone", "model": "tiny-xl"})
    ).status_code == 202:
        assert time.monotonic() < deadline, "tiny-xl still accepted after its worker left"
        time.sleep(0.2)
    assert answer.status_code == 503 and "tiny-xl" in answer.json()["detail"]
    assert submit(routed.apis[0].url, "tiny still served")["status"] == "queued"
