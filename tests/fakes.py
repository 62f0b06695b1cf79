"""Fakes for the service layer: a generator without torch and a repository without a database.

The service tests use them through the fixtures in tests/service/conftest.py; tests of the composition root
pass ``FakeGenerator`` to ``bootstrap`` so that no model loads.
"""

from __future__ import annotations

import hashlib
import threading

import numpy as np
from PIL import Image

from core.content import ImageContent
from core.exceptions import GenerationFailed
from core.models import GenerationParams, ImageDetail, PageQuery
from data.images import ImageRepository
from service.generation.interface import GeneratedImage, GeneratorInfo
from service.generation.profiles import ModelProfile
from service.images.params import Limits

PROFILE = ModelProfile("fake", steps=3, guidance_scale=2.5, width=96, height=160)
LIMITS = Limits(max_steps=50, max_side=1024, max_pixels=512 * 768, max_guidance=20.0, max_prompt_chars=100)


def noise(seed: int) -> Image.Image:
    pixels = np.random.RandomState(seed).randint(0, 256, size=(8, 12, 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


class FakeGenerator:
    """Records each batch; blocks while ``gate`` is clear; raises queued ``failures`` in turn.

    A batch holding a prompt in ``poisoned`` fails whole, as a tokenizer error fails a pipeline call.
    """

    def __init__(self) -> None:
        self.info = GeneratorInfo(model="fake/model", device="cpu", dtype="float32", sampler="Fake", profile=PROFILE)
        self.batches: list[list[GenerationParams]] = []
        self.failures: list[BaseException | None] = []
        self.poisoned: set[str] = set()
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()
        self.stopped_at: list[int] = []

    @property
    def batch_sizes(self) -> list[int]:
        return [len(batch) for batch in self.batches]

    def generate(self, batch: list[GenerationParams], *, on_step=None, should_stop=None) -> list[GeneratedImage]:
        self.batches.append(list(batch))
        self.started.set()
        self.gate.wait(timeout=10)
        for step in range(1, batch[0].steps + 1):
            if should_stop is not None and should_stop():
                self.stopped_at.append(step)
                break
            if on_step is not None:
                on_step(step, batch[0].steps)
        failure = self.failures.pop(0) if self.failures else None  # None: this call succeeds
        if failure is not None:
            raise failure
        if any(p.prompt in self.poisoned for p in batch):
            raise GenerationFailed()
        return [GeneratedImage(image=noise(p.seed), params=p, elapsed_ms=7) for p in batch]


class FakeRepository(ImageRepository):
    """In memory, newest first; records every call; raises ``error`` when set."""

    def __init__(self) -> None:
        self.images: dict[str, ImageDetail] = {}
        self.contents: dict[str, ImageContent] = {}
        self.calls: list[tuple] = []
        self.error: BaseException | None = None

    def _called(self, *call) -> None:
        self.calls.append(call)
        if self.error is not None:
            raise self.error

    def add(self, image: ImageDetail, *, content: bytes, sha256: str) -> None:
        self._called("add", image.guid)
        self.images[image.guid] = image
        self.contents[image.guid] = ImageContent(sha256=sha256, size=len(content), stream=lambda: iter([content]))

    def add_many(self, items: list[tuple[ImageDetail, bytes]]) -> None:
        self._called("add_many", [image.guid for image, _ in items])
        for image, content in items:
            self.images[image.guid] = image
            self.contents[image.guid] = ImageContent(
                sha256=hashlib.sha256(content).hexdigest(), size=len(content), stream=lambda c=content: iter([c])
            )

    def get(self, guid: str) -> ImageDetail | None:
        self._called("get", guid)
        return self.images.get(guid)

    def list(self, page: PageQuery) -> list[ImageDetail]:
        self._called("list", page)
        found = [i for i in reversed(self.images.values()) if not page.q or page.q.lower() in i.prompt.lower()]
        return found[page.offset : page.offset + page.limit]

    def count(self, q: str | None = None) -> int:
        self._called("count", q)
        return len([i for i in self.images.values() if not q or q.lower() in i.prompt.lower()])

    def content(self, guid: str) -> ImageContent | None:
        self._called("content", guid)
        return self.contents.get(guid)

    def delete(self, guid: str) -> bool:
        self._called("delete", guid)
        self.contents.pop(guid, None)
        return self.images.pop(guid, None) is not None
