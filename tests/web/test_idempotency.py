"""Idempotency-Key on POST /jobs: one key and body, one job, across restarts too, for 24 hours."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.web.test_jobs import FAST, wait_for

BODY = {"prompt": "once only", "seed": 3} | FAST


def post(client, body: dict, key: str | None):
    return client.post("/jobs", json=body, headers={"Idempotency-Key": key} if key is not None else {})


def test_the_same_key_and_body_answers_the_same_job_and_generates_once(client):
    key = str(uuid.uuid4())
    first = post(client, BODY, key)
    assert first.status_code == 202
    again = post(client, BODY, key)
    assert again.status_code == 202 and again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == f"/jobs/{first.json()['id']}"
    done = wait_for(client, first.json()["id"], "succeeded")
    replay = post(client, {"seed": 3, "steps": 1, "prompt": "once only"}, f'"{key}"')  # key order and sf-string
    assert replay.status_code == 202 and replay.json() == done
    assert len(client.get("/jobs").json()) == 1
    assert len(client.get("/image/").json()) == 1


def test_other_keys_or_no_key_make_jobs_of_their_own(client):
    ids = {post(client, BODY, key).json()["id"] for key in ("a", "A", None, None)}
    assert len(ids) == 4, "keys differing in case are different keys"


def test_the_same_key_with_another_body_is_422_naming_the_header(client):
    key = str(uuid.uuid4())
    post(client, BODY, key)
    response = post(client, BODY | {"prompt": "something else"}, key)
    assert response.status_code == 422
    assert response.json()["field"] == "Idempotency-Key"
    assert "different request body" in response.json()["detail"]
    assert len(client.get("/jobs").json()) == 1


def test_a_duplicate_while_the_first_still_runs_answers_that_running_job(make_held_client):
    held = make_held_client()
    key = str(uuid.uuid4())
    first = post(held.client, BODY, key).json()
    held.wait_until_running()
    again = post(held.client, BODY, key)
    assert again.status_code == 202
    assert (again.json()["id"], again.json()["status"]) == (first["id"], "running")
    held.release()
    wait_for(held.client, first["id"], "succeeded")
    assert not held.generator.started.acquire(timeout=0.3), "the duplicate generated a second time"


def test_racing_duplicates_make_one_job(client):
    key = str(uuid.uuid4())
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: post(client, BODY, key), range(4)))
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["id"] for a in answers}) == 1
    assert len(client.get("/jobs").json()) == 1


def test_a_key_is_remembered_across_a_restart(make_client):
    key = str(uuid.uuid4())
    before = make_client()
    job = post(before, BODY, key).json()
    wait_for(before, job["id"], "succeeded")
    after = make_client()  # a second app, built from nothing but the same database
    assert post(after, BODY, key).json()["id"] == job["id"]
    assert len(after.get("/image/").json()) == 1


def test_a_key_older_than_24_hours_is_forgotten(client, raw):
    key = str(uuid.uuid4())
    old = post(client, BODY, key).json()
    with raw.cursor() as cur:
        cur.execute("UPDATE idempotency_keys SET created_at = created_at - INTERVAL 25 HOUR")
    fresh = post(client, BODY | {"prompt": "a new use of an old key"}, key)
    assert fresh.status_code == 202 and fresh.json()["id"] != old["id"]
    assert post(client, BODY | {"prompt": "a new use of an old key"}, key).json()["id"] == fresh.json()["id"]


@pytest.mark.parametrize("key", ["k" * 256, "", "   ", '""'])
def test_an_over_long_or_empty_key_is_422_naming_the_header_and_stores_nothing(client, key):
    response = post(client, BODY, key)
    assert response.status_code == 422
    assert response.json()["field"] == "Idempotency-Key"
    assert client.get("/jobs").json() == []


def test_a_key_of_255_characters_is_accepted(client):
    assert post(client, BODY, "k" * 255).status_code == 202


def test_the_synchronous_routes_replay_a_key_without_generating_again(client):
    key = str(uuid.uuid4())
    first = client.post("/image/", json=BODY, headers={"Idempotency-Key": key})
    again = client.post("/image/", json=BODY, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    other = client.post("/image/", json=BODY | {"prompt": "else"}, headers={"Idempotency-Key": key})
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
    v1 = {"prompt": "once only", "n": 2, "response_format": "url"}
    urls = [client.post("/v1/images/generations", json=v1, headers={"Idempotency-Key": key}) for _ in range(2)]
    assert [d["url"] for d in urls[0].json()["data"]] == [d["url"] for d in urls[1].json()["data"]]
    assert len(client.get("/image/").json()) == 3, "one image for /image/, two for /v1, each made once"
    assert client.post("/image/", json=BODY, headers={"Idempotency-Key": "k" * 256}).status_code == 422


def test_a_synchronous_replay_while_the_first_runs_awaits_it(make_held_client):
    held = make_held_client()
    key = str(uuid.uuid4())
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(held.client.post, "/image/", json=BODY, headers={"Idempotency-Key": key})
        held.wait_until_running()
        second = pool.submit(held.client.post, "/image/", json=BODY, headers={"Idempotency-Key": key})
        held.release()
        assert first.result(timeout=30).json() == second.result(timeout=30).json()
    assert len(held.client.get("/image/").json()) == 1
