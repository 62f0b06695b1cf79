"""Each job's events in order, kept in memory for streams to replay and to wait on."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

KEEP_FINISHED_S = 300.0
SWEEP_EVERY_S = 5.0  # a finished job's events stay this long for late or reconnecting streams


@dataclass(frozen=True)
class JobEvent:
    id: int  # 1, 2, 3, … within its job: what a stream sends as ``id:`` and gets back as Last-Event-ID
    kind: str  # queued, started, progress, preview, succeeded, failed or cancelled
    data: dict = field(default_factory=dict)
    at: float = field(default_factory=time.time)  # wall clock at publish: a progress event's step time


@dataclass
class _Log:
    events: list[JobEvent] = field(default_factory=list)
    finished_at: float | None = None


class JobEvents:
    def __init__(self) -> None:
        self._logs: dict[str, _Log] = {}
        self._changed = threading.Condition()
        self._swept = time.monotonic()

    def publish(self, job_id: str, kind: str, data: dict | None = None, *, final: bool = False) -> JobEvent:
        with self._changed:
            log = self._logs.setdefault(job_id, _Log())
            event = JobEvent(id=len(log.events) + 1, kind=kind, data=data or {})
            log.events.append(event)
            if final:
                log.finished_at = time.monotonic()
            self._forget_old()
            self._changed.notify_all()
            return event

    def since(self, job_id: str, after: int = 0) -> list[JobEvent]:
        with self._changed:
            log = self._logs.get(job_id)
            return [event for event in log.events if event.id > after] if log else []

    def wait(self, job_id: str, after: int, timeout: float) -> list[JobEvent]:
        """Events after ``after``, waiting up to ``timeout`` seconds for one to come."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (found := self.since(job_id, after)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._changed.wait(remaining)
            return found

    def known(self, job_id: str) -> bool:
        with self._changed:
            return job_id in self._logs

    def _forget_old(self) -> None:
        if time.monotonic() - self._swept < SWEEP_EVERY_S:  # every event passes here: keep it O(1)
            return
        self._swept = time.monotonic()
        cutoff = self._swept - KEEP_FINISHED_S
        for job_id in [j for j, log in self._logs.items() if log.finished_at and log.finished_at < cutoff]:
            del self._logs[job_id]
