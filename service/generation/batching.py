"""One generation thread fed by a bounded queue, joining compatible requests into batches."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.exceptions import GeneratorBusy, ImageException
from core.models import GenerationParams
from service.generation.interface import EditSource, ImageGenerator

if TYPE_CHECKING:
    from PIL.Image import Image

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hooks:
    """What one submitted generation wants to hear and may ask: all optional."""

    on_start: Callable[[], None] | None = None
    on_step: Callable[[int, int], None] | None = None
    cancel: threading.Event | None = None  # once set, the generation stops at its next step
    # (step, steps, render): render() makes this image's cheap preview; not calling it costs nothing.
    on_preview: Callable[[int, int, Callable[[], Image]], None] | None = None


@dataclass
class _Job:
    params: GenerationParams
    future: Future
    hooks: Hooks = Hooks()
    source: EditSource | None = None  # an edit's image (and mask); its pixels may differ within a batch
    passed: int = 0  # batches of another model that ran while this waited, ahead of it

    @property
    def key(self) -> tuple:
        """What members of one batch share: one model's pipeline (txt2img, img2img, inpaint), its settings and
        sampler (a scheduler is stateful: one per batch)."""
        p = self.params
        return (p.model, p.steps, p.guidance_scale, p.width, p.height, p.mode, p.strength, p.sampler, p.scheduler)


class BatchQueue:
    """Runs generations off the event loop. ``max_queue`` bounds the waiting, not the running.

    Batches keep to the model of the last one (a switch costs a load), except that no request waits behind more
    than ``switch_after`` batches of other models: the oldest request's model then goes next.
    """

    def __init__(
        self,
        generator: ImageGenerator,
        *,
        max_queue: int,
        max_batch: int = 1,
        batch_wait_ms: int = 0,
        on_batch: Callable[[float, int], None] | None = None,
        switch_after: int = 4,
    ) -> None:
        self.generator = generator
        self.switch_after = switch_after
        self._model: str | None = None  # the model of the last batch: on the device
        self.max_queue = max_queue
        self.max_batch = max_batch
        self.batch_wait = batch_wait_ms / 1000
        self.on_batch = on_batch
        self._pending: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._running = 0
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="generation-batches", daemon=True)

    def start(self) -> BatchQueue:
        self._thread.start()
        return self

    @property
    def queue_depth(self) -> int:
        return len(self._pending)

    @property
    def busy(self) -> int:
        return self._running

    @property
    def full(self) -> bool:
        """Whether a submission now would be refused as busy."""
        with self._cond:
            return len(self._pending) >= self.max_queue and bool(self._running or self._pending)

    def submit(self, params: GenerationParams, hooks: Hooks | None = None, source: EditSource | None = None) -> Future:
        job = _Job(params, Future(), hooks or Hooks(), source)
        with self._cond:
            if self._stopping:
                raise GeneratorBusy("the service is shutting down")
            if len(self._pending) >= self.max_queue and (self._running or self._pending):
                raise GeneratorBusy()  # the same test as ``full``, under the same lock
            self._pending.append(job)
            self._cond.notify()
        job.future.add_done_callback(lambda future: self._forget(job) if future.cancelled() else None)
        return job.future

    def _forget(self, job: _Job) -> None:
        """A job cancelled while queued leaves at once, so it holds no place in the bounded queue."""
        with self._cond:
            if job in self._pending:
                self._pending.remove(job)

    def stop(self, timeout: float = 30.0) -> None:
        with self._cond:
            self._stopping = True
            abandoned = list(self._pending)
            self._pending.clear()
            self._cond.notify_all()
        for job in abandoned:
            if job.future.set_running_or_notify_cancel():
                job.future.set_exception(GeneratorBusy("the service is shutting down"))
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _take_batch(self) -> list[_Job] | None:
        with self._cond:
            while not self._pending and not self._stopping:
                self._cond.wait()
            if self._stopping:
                return None
            batch = [self._next()]
            self._running = 1
            deadline = time.monotonic() + self.batch_wait
            while len(batch) < self.max_batch:
                batch += self._pop_compatible(batch[0].key, self.max_batch - len(batch))
                remaining = deadline - time.monotonic()
                if len(batch) >= self.max_batch or remaining <= 0:
                    break
                self._cond.wait(remaining)
            self._running = len(batch)
            return batch

    def _next(self) -> _Job:
        """The oldest request for the model on the device, unless the oldest of all has waited long enough."""
        head = self._pending[0]
        pick = head
        if head.params.model != self._model and head.passed < self.switch_after:
            pick = next((job for job in self._pending if job.params.model == self._model), head)
        for job in self._pending:  # older requests of other models: passed once more
            if job is pick:
                break
            job.passed += 1
        self._pending.remove(pick)
        self._model = pick.params.model
        return pick

    def _pop_compatible(self, key: tuple, room: int) -> list[_Job]:
        taken = [job for job in self._pending if job.key == key][:room]
        for job in taken:
            self._pending.remove(job)
        return taken

    def _loop(self) -> None:
        while (batch := self._take_batch()) is not None:
            live = [job for job in batch if job.future.set_running_or_notify_cancel()]
            for job in live:
                if job.hooks.on_start:
                    job.hooks.on_start()
            try:
                if len(live) > 1 and not self._run(live, settle_failures=False):
                    # One bad member must not sink the others: retry alone, so only the guilty one fails.
                    logger.warning("a batch of %d failed; retrying its requests one by one", len(live))
                    for job in live:
                        self._run([job], settle_failures=True)
                elif len(live) == 1:
                    self._run(live, settle_failures=True)
            finally:
                with self._cond:
                    self._running = 0

    def _run(self, jobs: list[_Job], *, settle_failures: bool) -> bool:
        """One pipeline call; True when it succeeded. A failure is set on the futures only if asked."""
        started = time.perf_counter()

        def on_step(step: int, steps: int) -> None:
            for job in jobs:
                if job.hooks.on_step:
                    job.hooks.on_step(step, steps)

        def should_stop() -> bool:
            # Only when every member is cancelled: the others' pixels must not change.
            return all(job.hooks.cancel is not None and job.hooks.cancel.is_set() for job in jobs)

        can_preview = getattr(self.generator, "previews", False)  # a generator that can declares it
        previewers = [(i, job) for i, job in enumerate(jobs) if job.hooks.on_preview] if can_preview else []

        def on_preview(step: int, render: Callable[[], list]) -> None:
            for index, job in previewers:
                job.hooks.on_preview(step, job.params.steps, lambda index=index: render()[index])

        # Only asked for when a member can use previews: the plain path never builds one.
        options = {"on_preview": on_preview} if previewers else {}
        if jobs[0].params.mode != "txt2img":  # a generator that cannot edit never sees the argument
            options["sources"] = [job.source for job in jobs]
        try:
            params = [job.params for job in jobs]
            results = self.generator.generate(params, on_step=on_step, should_stop=should_stop, **options)
            if self.on_batch:
                self.on_batch(time.perf_counter() - started, len(jobs))
        except BaseException as exc:  # the worker must outlive any generator fault
            if not isinstance(exc, ImageException):
                logger.exception("generator raised outside its contract")
            if settle_failures:
                for job in jobs:
                    job.future.set_exception(exc)
            return False
        for job, result in zip(jobs, results, strict=True):
            job.future.set_result(result)
        return True
