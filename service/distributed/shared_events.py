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
from datetime import timedelta

from core.clock import now
from core.exceptions import ImageException
from data.job_events import JobEventLog
from service.jobs.events import KEEP_FINISHED_S, JobEvent

PROGRESS_EVERY_S = 0.1
POLL_S = 0.1  # how often a waiting reader looks for new rows


class SharedJobEvents:
    poll_s = POLL_S
    blocking = True  # readers on an event loop call it from a worker thread

    def __init__(self, log: JobEventLog) -> None:
        self.log = log
        self._last_progress: dict[str, float] = {}
        self._lock = threading.Lock()

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
        deadline = time.monotonic() + timeout
        while not (found := self.since(job_id, after)):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            time.sleep(min(self.poll_s, remaining))
        return found

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
