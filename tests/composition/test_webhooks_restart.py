"""A webhook delivery still owed when the process stops is sent by the next one (bootstrap twice, one DB)."""

from __future__ import annotations

import time

from standardwebhooks import Webhook

from service.bootstrap import bootstrap
from tests.conftest import make_settings, outside_connection
from tests.fakes import FakeGenerator
from tests.webhook_receiver import SECRET, Receiver


def delivery(settings, job_id: str) -> tuple[str, int]:
    with outside_connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT status, attempts FROM webhook_deliveries WHERE job_id = %s", (job_id,))
        return cur.fetchone()


def test_a_pending_delivery_survives_a_restart(settings, tmp_path):
    receiver = Receiver([500] * 1000)  # down for as long as the first process lives
    webhooks = {"pixy_webhook_secret": SECRET, "pixy_webhook_hosts": receiver.host, "pixy_webhook_retry_base": 0.2}
    settings = make_settings(tmp_path, **webhooks)
    first = bootstrap(settings, generator=FakeGenerator())
    try:
        job = first.jobs.submit({"prompt": "owed", "webhook_url": receiver.url})
        receiver.wait_for(1)
    finally:
        first.close()
    status, attempts = delivery(settings, job.id)
    assert status == "pending" and attempts >= 1
    receiver.answers.clear()
    seen = len(receiver.received)
    second = bootstrap(settings, generator=FakeGenerator())
    try:
        deadline = time.monotonic() + 30
        while delivery(settings, job.id)[0] != "delivered":
            assert time.monotonic() < deadline, "the owed delivery was not sent after the restart"
            time.sleep(0.02)
        last = receiver.received[-1]
        assert len(receiver.received) > seen
        assert Webhook(SECRET).verify(last.body, last.headers)["id"] == job.id
    finally:
        second.close()
        receiver.close()
