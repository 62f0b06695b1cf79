"""Job events kept in MySQL, so an SSE stream on any API process follows a job any worker runs.

The channel is the database every process already shares: it needs no second broker connection,
survives a restart of any process, and replays what a reconnecting client missed (Last-Event-ID)
exactly as the in-memory log does. Progress is written at most every ``PROGRESS_EVERY_S`` per job
(plus the last step), which keeps a 25-steps-a-second GPU from writing a row per step.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from datetime import timedelta

from core.clock import now
from core.exceptions import ImageException
from data.job_events import JobEventLog
from service.jobs.events import KEEP_FINISHED_S, JobEvent

PROGRESS_EVERY_S = 0.1
POLL_S = 0.1  # how often a waiting reader looks for new rows
# How often one query looks for new events of every job this process's waiting readers wait on: sixteen
# requests each polling every POLL_S were thirty queries a job, and up to POLL_S late.
WATCH_S = 0.02


class SharedJobEvents:
    poll_s = POLL_S
    blocking = True  # readers on an event loop call it from a worker thread

    def __init__(self, log: JobEventLog) -> None:
        self.log = log
        self._last_progress: dict[str, float] = {}
        self._lock = threading.Lock()
        self._watch = threading.Condition()
        self._waiting: Counter[str] = Counter()
        self._last_ids: dict[str, int] = {}  # of the jobs waited on, as the last look saw them
        self._looked = 0.0
        self._looking = False

    def publish(self, job_id: str, kind: str, data: dict | None = None, *, final: bool = False) -> JobEvent | None:
        data = data or {}
        if kind == "progress" and not self._due(job_id, data):
            return None
        if final:
            with self._lock:
                self._last_progress.pop(job_id, None)
        at = time.time()
        event_id = self.log.append(job_id, kind, json.dumps(data, separators=(",", ":")), at)
        return None if event_id is None else JobEvent(id=event_id, kind=kind, data=data, at=at)

    def since(self, job_id: str, after: int = 0) -> list[JobEvent]:
        rows = self.log.since(job_id, after)
        return [JobEvent(id=row["id"], kind=row["kind"], data=json.loads(row["data"]), at=row["at"]) for row in rows]

    def wait(self, job_id: str, after: int, timeout: float) -> list[JobEvent]:
        """The events after ``after``, waiting up to ``timeout`` s for one. The waiting readers of this process
        share one look (the newest event id of each of their jobs) every ``WATCH_S``; each reads its own rows
        only once there are some."""
        deadline = time.monotonic() + timeout
        if found := self.since(job_id, after):
            return found
        with self._watch:
            self._waiting[job_id] += 1
        try:
            while True:
                with self._watch:
                    newer = self._last_ids.get(job_id, 0) > after
                if newer and (found := self.since(job_id, after)):
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._look_or_wait(min(WATCH_S, remaining))
        finally:
            with self._watch:
                self._waiting[job_id] -= 1
                if not self._waiting[job_id]:
                    del self._waiting[job_id]
                    self._last_ids.pop(job_id, None)

    def _look_or_wait(self, timeout: float) -> None:
        """Look for every waiting reader if a look is due and no one else is looking; else wait for the next."""
        with self._watch:
            if self._looking or time.monotonic() - self._looked < WATCH_S:
                self._watch.wait(timeout)
                return
            self._looking = True
            watched = list(self._waiting)
        last_ids: dict[str, int] = {}
        try:
            last_ids = self.log.last_ids(watched)  # a database error reaches this reader, as its own read would
        finally:
            with self._watch:
                self._looking, self._looked = False, time.monotonic()
                self._last_ids.update((job, last) for job, last in last_ids.items() if job in self._waiting)
                self._watch.notify_all()

    def latest_progress(self, job_id: str) -> dict | None:
        """A running job's progress as its worker last reported it (the worker runs it, not this process)."""
        reported = self.log.latest(job_id, "progress")
        if not reported:
            return None
        data = json.loads(reported)
        return {key: data.get(key) for key in ("step", "steps", "progress", "eta_ms")}

    def known(self, job_id: str) -> bool:
        return self.log.exists(job_id)

    def purge(self) -> None:
        """Drop the events of jobs finished long ago; a stream of such a job answers from its row."""
        with contextlib.suppress(ImageException):  # the database is away: the next heartbeat tries again
            self.log.purge(finished_before=now() - timedelta(seconds=KEEP_FINISHED_S))

    def _due(self, job_id: str, data: dict) -> bool:
        """At most one progress event per job every PROGRESS_EVERY_S, and the last step's always.

        Previews are not thinned: they are made only while a stream wants them, and OpenAI's partial
        images are taken from given steps."""
        last_step = data.get("step") == data.get("steps")
        with self._lock:
            previous = self._last_progress.get(job_id, 0.0)
            if not last_step and time.monotonic() - previous < PROGRESS_EVERY_S:
                return False
            self._last_progress[job_id] = time.monotonic()
            return True
