"""What crosses to a running job from any API process, through its row: a cancel, and a wish for previews.

``DELETE /jobs/{id}`` marks the row cancelled; an SSE stream with ``?previews=1`` marks until when it wants
previews. The worker running the job reads both at each denoising step (one query for all its jobs, at
most every ``REFRESH_S``), so a cancel takes effect within one step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from core.exceptions import ImageException
from data.job_leases import JobLeases

REFRESH_S = 0.01  # at most one query per this many seconds, however many steps and jobs ask
WANT_PREVIEWS_S = 600  # a stream's wish for previews lasts this long (a job rarely runs longer)


class CancelWatch:
    def __init__(self, leases: JobLeases) -> None:
        self.leases = leases
        self._watched: set[str] = set()
        self._cancelled: set[str] = set()
        self._previews: set[str] = set()
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
            self._previews.discard(job_id)

    def cancelled(self, job_id: str) -> bool:
        self._refresh()
        with self._lock:
            return job_id in self._cancelled

    def previews_wanted(self, job_id: str) -> bool:
        self._refresh()
        with self._lock:
            return job_id in self._previews

    def _refresh(self) -> None:
        with self._lock:
            if time.monotonic() - self._checked < REFRESH_S or not self._watched:
                return
            self._checked = time.monotonic()
            watched = list(self._watched)
        try:
            cancelled, previews = self.leases.watch(watched)
        except ImageException:
            return  # the database is away: the job runs on, and its end is refused if it was cancelled
        with self._lock:
            self._cancelled |= cancelled & self._watched
            self._previews = previews & self._watched


class CancelSwitch:
    """What ``Live.cancel`` is in a worker: set here, or by a cancel written on any API process."""

    def __init__(self, watch: CancelWatch, job_id: str) -> None:
        self.watch, self.job_id = watch, job_id
        self._local = threading.Event()

    def set(self) -> None:
        self._local.set()

    def is_set(self) -> bool:
        if not self._local.is_set() and self.watch.cancelled(self.job_id):
            # Kept: the job's run lets go of the watch when it sees the cancel, and the generator asks after that.
            self._local.set()
        return self._local.is_set()


class ApiPreviews:
    """An API process's streams say in the job's row that they want previews (the worker reads it)."""

    def __init__(self, leases: JobLeases) -> None:
        self.leases = leases

    @contextmanager
    def watching(self, job_id: str) -> Iterator[None]:
        with suppress(ImageException):  # the database is away: no previews, the other events still come
            self.leases.want_previews(job_id, for_s=WANT_PREVIEWS_S)
        yield
