"""Signed webhooks through HTTP: a job's end is POSTed to a listed receiver, signed, and retried on 5xx."""

from __future__ import annotations

import json
import time

import pytest
from standardwebhooks import Webhook

from tests.web.test_jobs import wait_for
from tests.webhook_receiver import SECRET, SLOW, Receiver

FAST = {"steps": 1}


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def build(*answers: int) -> Receiver:
        made.append(Receiver(list(answers)))
        return made[-1]

    yield build
    for each in made:
        each.close()


def webhook_client(make_client, receiver: Receiver, **overrides):
    return make_client(pixy_webhook_secret=SECRET, pixy_webhook_hosts=receiver.host, **overrides)


def verified(delivery) -> dict:
    return Webhook(SECRET).verify(delivery.body, delivery.headers)


def delivery_row(raw, job_id: str) -> dict:
    with raw.cursor() as cur:
        cur.execute("SELECT status, attempts, url FROM webhook_deliveries WHERE job_id = %s", (job_id,))
        return dict(zip(("status", "attempts", "url"), cur.fetchone(), strict=True))


def test_a_finished_job_is_posted_to_its_webhook_signed_per_standard_webhooks(make_client, receiver, raw):
    hook = receiver()
    client = webhook_client(make_client, hook)
    job = client.post("/jobs", json={"prompt": "a signed lighthouse", "webhook_url": hook.url} | FAST).json()
    [delivery] = hook.wait_for(1)
    payload = verified(delivery)
    assert (payload["id"], payload["status"]) == (job["id"], "succeeded")
    assert payload == wait_for(client, job["id"], "succeeded")
    assert delivery.headers["webhook-id"] == job["id"]
    assert delivery.headers["webhook-signature"].startswith("v1,")
    assert delivery.headers["content-type"] == "application/json"
    assert "webhook_url" not in payload, "the url (it may carry a token) is not echoed to clients"
    wait_for_row(raw, job["id"], "delivered")  # the receiver hears it before the attempt is written
    assert delivery_row(raw, job["id"]) == {"status": "delivered", "attempts": 1, "url": hook.url}
    assert 'pixy_webhook_deliveries_total{outcome="delivered"} 1.0' in client.get("/metrics").text


def test_a_receiver_answering_500_twice_gets_three_signed_deliveries(make_client, receiver, raw):
    hook = receiver(500, 503)
    client = webhook_client(make_client, hook, pixy_webhook_retry_base=0.05)
    job = client.post("/jobs", json={"prompt": "persistent", "webhook_url": hook.url} | FAST).json()
    deliveries = hook.wait_for(3)
    assert [verified(d)["id"] for d in deliveries] == [job["id"]] * 3
    assert {d.headers["webhook-id"] for d in deliveries} == {job["id"]}, "one id across retries, for dedupe"
    wait_for_row(raw, job["id"], "delivered")
    assert delivery_row(raw, job["id"])["attempts"] == 3
    metrics = client.get("/metrics").text
    assert 'pixy_webhook_deliveries_total{outcome="retried"} 2.0' in metrics
    assert 'pixy_webhook_deliveries_total{outcome="delivered"} 1.0' in metrics


def test_a_receiver_slower_than_the_timeout_is_tried_again(make_client, receiver, raw):
    hook = receiver(SLOW)
    client = webhook_client(make_client, hook, pixy_webhook_retry_base=0.05, pixy_webhook_timeout=0.2)
    job = client.post("/jobs", json={"prompt": "patient", "webhook_url": hook.url} | FAST).json()
    assert len(hook.wait_for(2)) == 2
    wait_for_row(raw, job["id"], "delivered")


def test_a_receiver_refusing_with_a_4xx_is_not_retried(make_client, receiver, raw):
    hook = receiver(410)
    client = webhook_client(make_client, hook, pixy_webhook_retry_base=0.05)
    job = client.post("/jobs", json={"prompt": "gone", "webhook_url": hook.url} | FAST).json()
    hook.wait_for(1)
    wait_for_row(raw, job["id"], "failed")
    assert len(hook.received) == 1


def wait_for_row(raw, job_id: str, status: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with raw.cursor() as cur:
            cur.execute("SELECT status FROM webhook_deliveries WHERE job_id = %s", (job_id,))
            row = cur.fetchone()
        if row and row[0] == status:
            return
        assert time.monotonic() < deadline, f"the delivery stayed {row}"
        time.sleep(0.02)


BAD_URLS = [
    "file:///etc/passwd",
    "ftp://{host}/hook",
    "gopher://{host}/",
    "http://localhost:1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:1/hook",
    "http://user:pw@{host}/hook",
    "http://{host}.evil.example/hook",
    "http://evil.example#@{host}/",
    "http://{host}/hook\nX-Injected: 1",
    "http://[::1/hook",
    "not a url",
    "",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_bad_webhook_url_is_422_naming_it_and_stores_nothing(make_client, receiver, url):
    hook = receiver()
    client = webhook_client(make_client, hook)
    response = client.post("/jobs", json={"prompt": "x", "webhook_url": url.format(host=hook.host)})
    assert response.status_code == 422
    assert response.json()["field"] == "webhook_url"
    assert client.get("/jobs").json() == []
    assert hook.received == []


def test_a_webhook_url_without_a_secret_is_422_even_for_a_listed_host(make_client, receiver):
    hook = receiver()
    client = make_client(pixy_webhook_hosts=hook.host)
    response = client.post("/jobs", json={"prompt": "x", "webhook_url": hook.url})
    assert response.status_code == 422
    assert response.json()["field"] == "webhook_url"
    assert "not configured" in response.json()["detail"]


def test_a_webhook_url_with_a_secret_but_no_hosts_listed_is_422(make_client, receiver, raw):
    hook = receiver()
    client = make_client(pixy_webhook_secret=SECRET, pixy_webhook_hosts="")
    response = client.post("/jobs", json={"prompt": "x", "webhook_url": hook.url})
    assert response.status_code == 422
    assert response.json()["field"] == "webhook_url"
    assert "PIXY_WEBHOOK_HOSTS" in response.json()["detail"]
    assert client.get("/jobs").json() == [] and hook.received == []


def test_a_job_without_a_webhook_sends_nothing(make_client, receiver, raw):
    hook = receiver()
    client = webhook_client(make_client, hook)
    job = client.post("/jobs", json={"prompt": "quiet"} | FAST).json()
    wait_for(client, job["id"], "succeeded")
    with raw.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM webhook_deliveries")
        assert cur.fetchone()[0] == 0
    assert hook.received == [] and json.loads(client.get(f"/jobs/{job['id']}").content)["status"] == "succeeded"
