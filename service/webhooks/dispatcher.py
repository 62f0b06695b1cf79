"""Signed webhooks: a finished job is POSTed to its webhook_url per Standard Webhooks, retried from MySQL.

A few workers send at once, to different hosts (host:port) only: a slow or hostile receiver holds one
worker for at most one attempt's deadline at a time, while the other hosts' deliveries go on.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from standardwebhooks import Webhook

from core.clock import now
from core.exceptions import ImageException
from core.jobs import Job
from data.webhooks import Delivery, WebhookDeliveryRepository
from service.webhooks.policy import WebhookPolicy
from service.webhooks.sender import SEND_ERRORS, WebhookSender

logger = logging.getLogger(__name__)

MAX_BACKOFF_S = 60.0
IDLE_WAIT_S = 5.0  # how often the table is looked at with nothing due: rows another process added
MISSED_WINDOW = timedelta(days=1)
RETRY_STATUSES = frozenset({408, 429})
WORKERS = 4
STOP_WAIT_S = 2.0
DUE_PAGE = 20


def host_of(url: str) -> str:
    """What one delivery at a time may reach, and what the log names: the URL's host[:port], no path or query."""
    return urlsplit(url).netloc.lower()


def backoff(base: float, attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones: base, 2x, 4x ..., at most a minute."""
    return min(base * 2 ** (attempts - 1), MAX_BACKOFF_S)


class WebhookDispatcher:
    """Threads of its own (one picks due deliveries, ``workers`` send them), so no receiver holds up generation."""

    def __init__(
        self,
        *,
        deliveries: WebhookDeliveryRepository,
        policy: WebhookPolicy,
        url_of: Callable[[str], str | None],
        secret: str,
        timeout: float,
        retry_base: float,
        retry_for: float,
        workers: int = WORKERS,
        on_outcome: list[Callable[[str], None]] | None = None,
    ) -> None:
        self.deliveries = deliveries
        self.policy = policy
        self.url_of = url_of
        self.retry_base = retry_base
        self.retry_for = timedelta(seconds=retry_for)
        self.lease = timedelta(seconds=2 * timeout + 5)
        self.workers = workers
        self._signer = Webhook(secret)
        self._sender = WebhookSender(timeout=timeout)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._taken: queue.SimpleQueue[tuple[Delivery, str] | None] = queue.SimpleQueue()
        self._busy: set[str] = set()  # hosts with a delivery in flight
        self._busy_lock = threading.Lock()
        # Called with "delivered", "retried" or "failed" after each attempt (the /metrics counter).
        self.on_outcome: list[Callable[[str], None]] = list(on_outcome or [])

    def job_finished(self, job: Job) -> None:
        """``JobService.on_finish`` listener: record the delivery, then wake the sender."""
        url = self.url_of(job.id)
        if url:
            self.deliveries.add(job_id=job.id, url=url, payload=job.model_dump_json(), at=now())
            self._wake.set()

    def start(self, *, missed: Callable[[str], Job] | None = None) -> WebhookDispatcher:
        """Start sending; ``missed`` rebuilds jobs that finished while the process died before recording."""
        if missed is not None:
            self._record_missed(missed)
        self._threads = [threading.Thread(target=self._loop, name="pixy-webhooks", daemon=True)]
        self._threads += [
            threading.Thread(target=self._work, name=f"pixy-webhooks-{i}", daemon=True) for i in range(self.workers)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop taking deliveries; one in flight ends by its deadline, or its lease brings it back."""
        self._stop.set()
        self._wake.set()
        for _ in range(self.workers):
            self._taken.put(None)
        until = time.monotonic() + STOP_WAIT_S
        for thread in self._threads:
            thread.join(timeout=max(until - time.monotonic(), 0))

    def _record_missed(self, rebuild: Callable[[str], Job]) -> None:
        try:
            for job_id, url in self.deliveries.missed(since=now() - MISSED_WINDOW):
                self.deliveries.add(job_id=job_id, url=url, payload=rebuild(job_id).model_dump_json(), at=now())
        except ImageException as exc:
            logger.error("webhooks missed at the last stop not recorded: %s", exc.message)

    def _loop(self) -> None:
        while not self._stop.is_set():
            wait = IDLE_WAIT_S
            try:
                # With due deliveries left to busy hosts, a worker's wake says when to look again.
                if not self._send_due():
                    wait = self._until_next_due()
            except ImageException as exc:  # MySQL is away: the deliveries wait in their table
                logger.warning("webhook deliveries paused: %s", exc.message)
            except Exception:
                logger.exception("webhook delivery loop error")
            self._wake.wait(wait)
            self._wake.clear()

    def _until_next_due(self) -> float:
        due = self.deliveries.next_due()
        if due is None:
            return IDLE_WAIT_S
        return min(max((due - now()).total_seconds(), 0.0), IDLE_WAIT_S)

    def _send_due(self) -> bool:
        """Hand due deliveries to idle workers, one per idle host; True if some are left waiting for one."""
        at = now()
        picked, left = self._pick(at)
        for delivery in picked:
            if self._stop.is_set():
                return left
            if self.deliveries.take(delivery.id, at=at, lease_until=at + self.lease):
                host = host_of(delivery.url)
                with self._busy_lock:
                    self._busy.add(host)
                self._taken.put((delivery, host))
        return left

    def _pick(self, at: datetime) -> tuple[list[Delivery], bool]:
        """The oldest due delivery of each host with none in flight, as many as workers are idle, and whether
        any due one is left; the page grows past a busy host's backlog, so it cannot hide the others."""
        with self._busy_lock:
            busy = set(self._busy)
        idle, limit = self.workers - len(busy), DUE_PAGE
        while True:
            due = self.deliveries.due(at=at, limit=limit)
            picked: dict[str, Delivery] = {}
            for delivery in due:
                if (host := host_of(delivery.url)) not in busy:
                    picked.setdefault(host, delivery)
            if len(picked) >= idle or len(due) < limit:
                chosen = list(picked.values())[: max(idle, 0)]
                return chosen, len(due) > len(chosen)
            limit *= 4

    def _work(self) -> None:
        while (taken := self._taken.get()) is not None:
            delivery, host = taken
            try:
                self._attempt(delivery, host)
            except ImageException as exc:  # not settled: its lease runs out and it is tried again
                logger.warning("webhook for job %s to %s not settled: %s", delivery.job_id, host, exc.message)
            except Exception:
                logger.exception("webhook delivery error")
            finally:
                with self._busy_lock:
                    self._busy.discard(host)
                self._wake.set()

    def _attempt(self, delivery: Delivery, host: str) -> None:
        result, error = self._send(delivery)
        attempts = delivery.attempts + 1
        if result == "retry" and now() - delivery.created_at < self.retry_for:
            next_at = now() + timedelta(seconds=backoff(self.retry_base, attempts))
            self.deliveries.settle(delivery.id, status="pending", next_at=next_at, error=error)
            outcome = "retried"
        else:
            outcome = "delivered" if result == "delivered" else "failed"
            self.deliveries.settle(delivery.id, status=outcome, next_at=now(), error=error)
        if outcome == "delivered":
            logger.info("webhook for job %s to %s: delivered", delivery.job_id, host)
        else:
            logger.warning(
                "webhook for job %s to %s, attempt %d: %s (%s)", delivery.job_id, host, attempts, outcome, error
            )
        for observe in self.on_outcome:
            observe(outcome)

    def _send(self, delivery: Delivery) -> tuple[str, str | None]:
        try:
            self.policy.check(delivery.url)  # the host list may have changed since the job was accepted
        except ImageException as exc:
            return "failed", exc.message
        # One id per job (its one terminal event), so a receiver can drop a retry it already took.
        sent_at = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "user-agent": "PixyProxy-Webhooks",
            "webhook-id": delivery.job_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": self._signer.sign(delivery.job_id, sent_at, delivery.payload),
        }
        try:
            status = self._sender.post(delivery.url, body=delivery.payload.encode("utf-8"), headers=headers)
        except SEND_ERRORS as exc:  # timeouts, refused connections, resets: the receiver may come back
            return "retry", type(exc).__name__
        if 200 <= status < 300:
            return "delivered", None
        if status >= 500 or status in RETRY_STATUSES:
            return "retry", f"HTTP {status}"
        return "failed", f"HTTP {status}"
