"""The service layer's fixtures, over the fakes in tests/fakes.py: no torch, no database."""

from __future__ import annotations

import pytest

from service.generation.batching import BatchQueue
from service.generation.profiles import ModelProfile
from service.images.params import Limits
from tests.fakes import LIMITS, PROFILE, FakeGenerator, FakeRepository, noise
from tests.service.image_path import ImagePath


@pytest.fixture
def profile() -> ModelProfile:
    return PROFILE


@pytest.fixture
def limits() -> Limits:
    return LIMITS


@pytest.fixture
def render():
    """The image the fake generator makes for a seed."""
    return noise


@pytest.fixture
def generator() -> FakeGenerator:
    return FakeGenerator()


@pytest.fixture
def repository() -> FakeRepository:
    return FakeRepository()


@pytest.fixture
def make_worker(generator):
    """Build workers over the fake generator; ``start=False`` leaves the thread unstarted."""
    workers: list[BatchQueue] = []

    def build(*, start: bool = True, **options) -> BatchQueue:
        worker = BatchQueue(generator, **({"max_queue": 8} | options))
        workers.append(worker.start() if start else worker)
        return worker

    yield build
    generator.gate.set()
    for worker in workers:
        worker.stop(timeout=5)


@pytest.fixture
def image_path(repository, generator, limits, make_worker):
    """``image_path(max_queue=…, timeout=…)``: an ``ImagePath`` over the fakes and a started batch queue."""

    def build(*, max_queue: int = 8, timeout: float = 5) -> ImagePath:
        return ImagePath(repository, generator, limits, make_worker(max_queue=max_queue), timeout=timeout)

    return build
