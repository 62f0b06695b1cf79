"""Webhook delivery against real local receivers, over deliveries kept in memory: hostile or slow receivers
cost one attempt's deadline and one worker, never the other hosts' deliveries."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest

from core.clock import now
from data.webhooks import Delivery
from service.webhooks.dispatcher import WebhookDispatcher
from service.webhooks.policy import WebhookPolicy
from tests.webhook_receiver import HUGE, HUGE_BYTES, SECRET, TRICKLE, Receiver

RETRY_FOR = 600.0


@dataclass
class Settled:
    job_id: str
    status: str
    error: str | None
    at: float  # time.monotonic()


class MemoryDeliveries:
    """``WebhookDeliveryRepository``'s verbs over a dict, as its SQL behaves; it records every settlement."""

    def __init__(self) -> None:
        self.rows: dict[int, Delivery] = {}
        self.next_at: dict[int, datetime] = {}
        self.status: dict[int, str] = {}
        self.settled: list[Settled] = []
        self._ids = itertools.count(1)
        self._lock = threading.Condition()

    def add(self, *, job_id: str, url: str, payload: str, at: datetime) -> None:
        with self._lock:
            if all(row.job_id != job_id for row in self.rows.values()):
                delivery_id = next(self._ids)
                self.rows[delivery_id] = Delivery(delivery_id, job_id, url, payload, 0, at)
                self.next_at[delivery_id], self.status[delivery_id] = at, "pending"

    def due(self, *, at: datetime, limit: int = 20) -> list[Delivery]:
        with self._lock:
            due = [i for i in self.rows if self.status[i] == "pending" and self.next_at[i] <= at]
            return [self.rows[i] for i in sorted(due, key=lambda i: (self.next_at[i], i))[:limit]]

    def next_due(self) -> datetime | None:
        with self._lock:
            return min((self.next_at[i] for i in self.rows if self.status[i] == "pending"), default=None)

    def take(self, delivery_id: int, *, at: datetime, lease_until: datetime) -> bool:
        with self._lock:
            if self.status[delivery_id] != "pending" or self.next_at[delivery_id] > at:
                return False
            row = self.rows[delivery_id]
            self.rows[delivery_id] = replace(row, attempts=row.attempts + 1)
            self.next_at[delivery_id] = lease_until
            return True

    def settle(self, delivery_id: int, *, status: str, next_at: datetime, error: str | None = None) -> None:
        with self._lock:
            self.status[delivery_id], self.next_at[delivery_id] = status, next_at
            self.settled.append(Settled(self.rows[delivery_id].job_id, status, error, time.monotonic()))
            self._lock.notify_all()

    def missed(self, *, since: datetime) -> list[tuple[str, str]]:
        return []

    def wait_settled(self, count: int, timeout: float = 30) -> list[Settled]:
        with self._lock:
            assert self._lock.wait_for(lambda: len(self.settled) >= count, timeout), f"{len(self.settled)} settled"
            return list(self.settled)

    def status_of(self, job_id: str) -> str:
        with self._lock:
            return next(self.status[i] for i, row in self.rows.items() if row.job_id == job_id)


@pytest.fixture
def deliveries() -> MemoryDeliveries:
    return MemoryDeliveries()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def build(*answers: int, gated: bool = False) -> Receiver:
        made.append(Receiver(list(answers), gate=threading.Event() if gated else None))
        return made[-1]

    yield build
    for each in made:
        each.close()


@pytest.fixture
def dispatcher(deliveries):
    started: list[WebhookDispatcher] = []

    def build(*receivers: Receiver, timeout: float = 5.0, **options) -> WebhookDispatcher:
        hosts = ",".join(each.host for each in receivers)
        started.append(
            WebhookDispatcher(
                deliveries=deliveries,
                policy=WebhookPolicy.from_settings(secret=SECRET, hosts=hosts),
                url_of=lambda job_id: None,
                secret=SECRET,
                timeout=timeout,
                retry_base=options.pop("retry_base", 0.05),
                retry_for=options.pop("retry_for", RETRY_FOR),
                **options,
            ).start()
        )
        return started[-1]

    yield build
    for each in started:
        each.stop()


def owe(deliveries: MemoryDeliveries, job_id: str, url: str, *, age_s: float = 1.0) -> None:
    deliveries.add(job_id=job_id, url=url, payload=f'{{"id": "{job_id}"}}', at=now() - timedelta(seconds=age_s))


def test_a_receiver_trickling_its_headers_is_cut_at_the_attempts_deadline(deliveries, receiver, dispatcher):
    hook = receiver(TRICKLE)  # a header line every 0.2 s: no single read ever waits 1 s
    owe(deliveries, "trickled", hook.url)
    started = time.monotonic()
    dispatcher(hook, timeout=1.0)
    [settled] = deliveries.wait_settled(1, timeout=15)
    assert settled.status == "pending" and "Timeout" in settled.error  # tried again later
    assert settled.at - started < 2.0


def test_an_answers_body_is_never_read(deliveries, receiver, dispatcher):
    hook = receiver(HUGE)
    owe(deliveries, "huge", hook.url)
    dispatcher(hook)
    [settled] = deliveries.wait_settled(1)
    assert settled.status == "delivered"
    assert hook.answered.acquire(timeout=30)
    assert hook.body_sent < 32 * 2**20 < HUGE_BYTES  # what the sockets' buffers took before the hang-up


def test_a_slow_host_does_not_delay_a_healthy_one(deliveries, receiver, dispatcher):
    slow, healthy = receiver(gated=True), receiver()
    backlog = 50  # more than a page of due deliveries, even once one is in flight
    for i in range(backlog):
        owe(deliveries, f"slow-{i}", slow.url, age_s=2 - i / 100)
    owe(deliveries, "healthy", healthy.url)  # due last: behind all of the slow host's
    dispatcher(slow, healthy, timeout=30)
    slow.wait_for(1)
    healthy.wait_for(1, timeout=10)
    assert deliveries.wait_settled(1)[0].job_id == "healthy"
    assert len(slow.received) == 1, "one delivery in flight per host"
    slow.gate.set()
    slow.wait_for(backlog)
    deliveries.wait_settled(backlog + 1)
    assert {deliveries.status_of(f"slow-{i}") for i in range(backlog)} == {"delivered"}


def test_no_more_deliveries_are_in_flight_than_workers(deliveries, receiver, dispatcher):
    first, second, third = receiver(gated=True), receiver(gated=True), receiver()
    for age, hook in enumerate([third, second, first], start=1):
        owe(deliveries, hook.host, hook.url, age_s=age)
    dispatcher(first, second, third, timeout=30, workers=2)
    first.wait_for(1)
    second.wait_for(1)
    assert third.received == []
    first.gate.set()
    third.wait_for(1)
    assert len(second.received) == 1 and deliveries.status_of(second.host) == "pending"
    second.gate.set()
    deliveries.wait_settled(3)


def test_a_delivery_older_than_retry_for_fails_and_is_not_tried_again(deliveries, receiver, dispatcher):
    old, young = receiver(500, 500), receiver(500, 500)
    owe(deliveries, "old", old.url, age_s=RETRY_FOR + 1)
    owe(deliveries, "young", young.url)
    dispatcher(old, young)
    young.wait_for(3)  # the young one is tried again, and again ...
    assert deliveries.status_of("old") == "failed"
    assert len(old.received) == 1
    assert [s.status for s in deliveries.settled if s.job_id == "old"] == ["failed"]


def test_the_log_names_the_receivers_host_never_its_url(deliveries, receiver, dispatcher, caplog):
    caplog.set_level(logging.DEBUG)
    hook = receiver()
    owe(deliveries, "quiet", f"{hook.url}?token=s3cret")
    sender = dispatcher(hook)
    deliveries.wait_settled(1)
    sender.stop()  # its worker has logged the attempt
    assert "s3cret" not in caplog.text
    mine = [r.getMessage() for r in caplog.records if r.name.startswith("service.webhooks")]
    assert any(hook.host in message and "delivered" in message for message in mine), mine
