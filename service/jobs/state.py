"""What a job's run keeps beside its row: progress, the cancel switch, and how the run ended."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from core.exceptions import ImageException
from core.jobs import Job, JobError
from core.models import ImageDetail
from data.jobs import JobRecord
from data.write import Write
from service.generation.batching import Hooks


@dataclass
class Live:
    """What only this process knows of a job it runs: its cancel switch and per-image step counts."""

    n: int
    steps: int
    cancel: threading.Event = field(default_factory=threading.Event)
    done: list[int] = field(default_factory=list)
    started: float | None = None
    # False for a synchronous job without an Idempotency-Key: its one row is written when it ends.
    persisted: bool = True
    # True when its row was claimed (running, its started event sent) before it reached the generator.
    claimed: bool = False
    created_at: datetime | None = None
    started_at: datetime | None = None
    times: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.done = [0] * self.n

    def hooks(self, index: int, on_start, on_progress, on_preview=None) -> Hooks:
        def on_step(step: int, steps: int) -> None:
            self.done[index] = step
            on_progress()

        return Hooks(on_start=on_start, on_step=on_step, cancel=self.cancel, on_preview=on_preview)

    def progress(self) -> dict:
        """step, steps, progress and eta_ms over all of the job's images."""
        steps = self.steps * self.n
        step = sum(self.done)
        eta_ms = None
        if self.started is not None and 0 < step < steps:
            eta_ms = round((time.monotonic() - self.started) / step * (steps - step) * 1000)
        return {"step": step, "steps": steps, "progress": round(step / steps, 4) if steps else 0.0, "eta_ms": eta_ms}


@dataclass(frozen=True)
class Outcome:
    status: str | None  # None: not finished (the process is stopping)
    details: list[ImageDetail] = field(default_factory=list)
    error: ImageException | None = None
    written: Write | None = None  # the job's own end, written in its images' transaction


class WhileQueued:
    """Reads as set once the client has left, but only while the job has not started: then it is kept.

    A cancel (``live.cancel``, from DELETE) reads as set at any time, as it would without a client to watch."""

    def __init__(self, gone: threading.Event | None, live: Live) -> None:
        self.gone, self.live = gone, live

    def is_set(self) -> bool:
        left = self.gone is not None and self.gone.is_set() and self.live.started is None
        return left or self.live.cancel.is_set()


class LiveJobs:
    """The jobs this process runs now, by id: what cancels them and what they have done so far."""

    def __init__(self) -> None:
        self._live: dict[str, Live] = {}
        self._lock = threading.Lock()

    def add(self, job_id: str, live: Live) -> Live:
        with self._lock:
            self._live[job_id] = live
        return live

    def get(self, job_id: str) -> Live | None:
        with self._lock:
            return self._live.get(job_id)

    def discard(self, job_id: str) -> None:
        with self._lock:
            self._live.pop(job_id, None)

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._live)

    def cancel(self, job_id: str) -> None:
        """Stop the job at its next step, if it runs here (elsewhere its row's mark stops it)."""
        if (live := self.get(job_id)) is not None:
            live.cancel.set()

    def progress(self, job_id: str) -> dict | None:
        live = self.get(job_id)
        return live.progress() if live is not None else None


def job_view(record: JobRecord, progress: dict | None, *, position: int | None, images: list[ImageDetail]) -> Job:
    """The Job a client sees: the row, with its progress while it runs (``Live.progress()``'s fields)."""
    steps = record.params.steps * record.n
    if progress is None:
        progress = {"step": steps if record.status == "succeeded" else 0, "steps": steps, "eta_ms": None}
    step = progress["step"]
    return Job(
        id=record.id,
        status=record.status,
        position=position,
        step=step,
        steps=steps,
        progress=round(step / steps, 4) if steps else 0.0,
        eta_ms=progress["eta_ms"],
        n=record.n,
        created_at=record.created_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
        params=record.params,
        images=images,
        error=JobError(detail=record.error) if record.error else None,
    )
