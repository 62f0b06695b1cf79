"""A cancel that crosses processes: ``DELETE /jobs/{id}`` on any API process marks the row; the worker
running the job reads the marks at each denoising step, so it stops within one step."""

from __future__ import annotations

import threading
import time

from core.exceptions import ImageException
from data.job_leases import JobLeases

REFRESH_S = 0.01  # at most one query per this many seconds, however many steps and jobs ask


class CancelWatch:
    def __init__(self, leases: JobLeases) -> None:
        self.leases = leases
        self._watched: set[str] = set()
        self._cancelled: set[str] = set()
        self._checked = 0.0
        self._lock = threading.Lock()

    def switch(self, job_id: str) -> CancelSwitch:
        with self._lock:
            self._watched.add(job_id)
        return CancelSwitch(self, job_id)

    def forget(self, job_id: str) -> None:
        with self._lock:
            self._watched.discard(job_id)
            self._cancelled.discard(job_id)

    def cancelled(self, job_id: str) -> bool:
        with self._lock:
            if job_id in self._cancelled:
                return True
            if time.monotonic() - self._checked < REFRESH_S:
                return False
            self._checked = time.monotonic()
            watched = list(self._watched)
        try:
            found = self.leases.cancelled(watched)
        except ImageException:
            return False  # the database is away: the job runs on, and its end is refused if it was cancelled
        with self._lock:
            self._cancelled |= found & self._watched
            return job_id in self._cancelled


class CancelSwitch:
    """What ``Live.cancel`` is in a worker: set here, or by a cancel written on any API process."""

    def __init__(self, watch: CancelWatch, job_id: str) -> None:
        self.watch, self.job_id = watch, job_id
        self._local = threading.Event()

    def set(self) -> None:
        self._local.set()

    def is_set(self) -> bool:
        return self._local.is_set() or self.watch.cancelled(self.job_id)
