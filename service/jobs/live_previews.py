"""Live previews of a running job: made only while a stream asks for them, sent as small JPEGs."""

from __future__ import annotations

import base64
import io
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from PIL.Image import Image

from service.jobs.events import JobEvents

LIVE_PREVIEW_QUALITY = 70


def jpeg_b64(image: Image, *, quality: int = LIVE_PREVIEW_QUALITY) -> str:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class PreviewWatch:
    """How many streams want each job's previews; with none, no step pays for one."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    @contextmanager
    def watching(self, job_id: str) -> Iterator[None]:
        with self._lock:
            self._counts[job_id] += 1
        try:
            yield
        finally:
            with self._lock:
                self._counts[job_id] -= 1
                if self._counts[job_id] <= 0:
                    del self._counts[job_id]

    def wanted(self, job_id: str) -> bool:
        with self._lock:
            return self._counts[job_id] > 0 if job_id in self._counts else False


def preview_hook(
    events: JobEvents, job_id: str, index: int, wanted: Callable[[str], bool]
) -> Callable[[int, int, Callable[[], Image]], None]:
    """The batch queue's ``on_preview`` for image ``index`` of a job: a ``preview`` event while one is wanted."""

    def on_preview(step: int, steps: int, render: Callable[[], Image]) -> None:
        if wanted(job_id):
            data = {"index": index, "step": step, "steps": steps, "image": jpeg_b64(render())}
            events.publish(job_id, "preview", data)

    return on_preview
