"""An API process in the distributed mode: it loads no model; jobs go to the broker, the rest to MySQL."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

from core.clock import now
from core.exceptions import BrokerUnavailable, GeneratorBusy, NoWorkers, RequestAbandoned
from core.models import GenerationParams, GenerationRequest, ImageDetail
from data.job_leases import JobLeases
from data.nodes import NodeRepository
from service.distributed.dispatch import CeleryDispatch
from service.edits.uploads import Uploads
from service.generation.interface import GeneratorInfo
from service.generation.profiles import ModelProfile
from service.jobs.idempotency import await_job
from service.jobs.service import JobService

INFO_TTL_S = 5.0
LEFT_POLL_S = 0.5


class RemoteJobs(JobService):
    """Jobs accepted here run on whichever GPU worker takes their task."""

    def __init__(self, *, dispatch: CeleryDispatch, leases: JobLeases, **kwargs) -> None:
        super().__init__(runners=1, **kwargs)
        self.dispatch, self.leases = dispatch, leases

    def _launch(self, job_id: str, params: GenerationParams, n: int, abandoned: threading.Event | None = None) -> None:
        try:
            self.dispatch.enqueue(job_id)
        except BrokerUnavailable:
            self.leases.withdraw(job_id)  # the client hears 503: no row may say this job is queued
            raise
        if abandoned is not None:  # a streaming client: if it leaves while the job is queued, the job is dropped
            threading.Thread(target=self._drop_if_left, args=(job_id, abandoned), daemon=True).start()

    def _drop_if_left(self, job_id: str, abandoned: threading.Event) -> None:
        while not self._stopping.is_set():
            if abandoned.wait(LEFT_POLL_S):
                if self.leases.cancel_queued(job_id, at=now()):
                    self._announce(job_id)
                return
            record = self.repository.get(job_id)
            if record is None or record.status != "queued":
                return  # running or over: it finishes and is stored whatever the client does

    def recover(self) -> None:
        """Nothing to resume here: queued tasks wait in the broker, and workers take them back."""

    def run(
        self,
        request: GenerationRequest | dict,
        *,
        n: int = 1,
        abandoned: threading.Event | None = None,
        idempotency_key: str | None = None,
        route: str = "image",
        uploads: Uploads | None = None,
    ) -> list[ImageDetail]:
        """The synchronous routes: a job like any other, awaited here while a worker runs it.

        An edit's ``uploads`` are written with the job's row, so the worker that takes it reads them from MySQL.
        """
        accepted = self._accept(
            request, n=n, idempotency_key=idempotency_key, route=route, uploads=uploads, write_row=True
        )
        if accepted.earlier is not None:
            return await_job(self, accepted.earlier, abandoned=abandoned)
        job_id = accepted.job_id
        self.events.publish(job_id, "queued", {"position": 0})
        self._launch(job_id, accepted.params, n)
        try:
            return await_job(self, job_id, abandoned=abandoned)
        except RequestAbandoned:
            # The client left: a job still queued is dropped; a running one finishes and is stored.
            if self.leases.cancel_queued(job_id, at=now()):
                self._announce(job_id)
            raise

    def _progress_of(self, job_id: str):
        reported = self.events.log.latest(job_id, "progress")  # a worker runs it: its last report
        return _Reported(json.loads(reported)) if reported else None


@dataclass(frozen=True)
class _Reported:
    """A running job's progress as its worker last reported it."""

    data: dict

    def progress(self) -> dict:
        return {key: self.data.get(key) for key in ("step", "steps", "progress", "eta_ms")}


class RemoteInfo:
    """The model the GPU workers serve, as the newest of them registered it (read anew every few seconds)."""

    def __init__(self, nodes: NodeRepository) -> None:
        self.nodes = nodes
        self._info: GeneratorInfo | None = None
        self._read = 0.0

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.current(), name)

    def current(self) -> GeneratorInfo:
        if self._info is None or time.monotonic() - self._read > INFO_TTL_S:
            node = self.nodes.latest("worker")
            if node is None or "generator" not in node.info:
                raise NoWorkers()
            info = dict(node.info["generator"])
            self._info = GeneratorInfo(**info | {"profile": ModelProfile(**info["profile"])})
            self._read = time.monotonic()
        return self._info


class RemoteQueue:
    """Stands where the generation worker stands in one process: the broker's queue, seen from here."""

    full = False  # the broker's queue is not bounded here: workers take tasks as they can
    busy = 0

    def __init__(self, dispatch: CeleryDispatch) -> None:
        self.dispatch = dispatch
        self.queue_depth = 0  # as last read by ``refresh`` (a scrape of /metrics, or /ready)

    def refresh(self) -> int | None:
        """Read the depth from the broker (blocking); None when the broker does not answer."""
        depth = self.dispatch.queue_depth()
        self.queue_depth = depth or 0
        return depth

    def submit(self, *args, **kwargs):
        raise GeneratorBusy("this API process runs no generator")

    def stop(self) -> None:
        pass
