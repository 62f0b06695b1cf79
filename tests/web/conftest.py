from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from web.app import create_app


@pytest.fixture
def client(settings, tiny_generator) -> Iterator[TestClient]:
    with TestClient(create_app(settings, generator=tiny_generator)) as test_client:
        yield test_client


@pytest.fixture
def make_client(settings, tiny_generator):
    """Build a client with settings changed for one test."""
    clients = []

    def build(**overrides) -> TestClient:
        client = TestClient(create_app(type(settings)(**(settings.model_dump() | overrides)), generator=tiny_generator))
        clients.append(client.__enter__())
        return clients[-1]

    yield build
    for client in clients:
        client.__exit__(None, None, None)


class HeldGenerator:
    """The tiny generator behind a gate: every call waits until the test releases it."""

    def __init__(self, inner) -> None:
        self.inner, self.info = inner, inner.info
        self.started = threading.Semaphore(0)
        self.gate = threading.Event()

    def generate(self, batch, **hooks):
        self.started.release()
        self.gate.wait(timeout=60)
        return self.inner.generate(batch, **hooks)


@dataclass
class HeldClient:
    """A client whose generations run only once ``release()`` is called."""

    client: TestClient
    generator: HeldGenerator

    def wait_until_running(self) -> None:
        assert self.generator.started.acquire(timeout=30), "no generation started"

    def wait_until_queued(self, depth: int) -> None:
        deadline = time.monotonic() + 30
        while f"pixy_queue_depth {float(depth)}" not in self.client.get("/metrics").text:
            assert time.monotonic() < deadline, f"the queue never reached {depth}"
            time.sleep(0.02)

    def release(self) -> None:
        self.generator.gate.set()


@pytest.fixture
def make_held_client(settings, tiny_generator):
    """Build a client whose generator holds every generation until the test releases it."""
    held: list[HeldClient] = []

    def build(**overrides) -> HeldClient:
        generator = HeldGenerator(tiny_generator)
        app = create_app(type(settings)(**(settings.model_dump() | overrides)), generator=generator)
        held.append(HeldClient(TestClient(app).__enter__(), generator))
        return held[-1]

    yield build
    for each in held:
        each.release()
        each.client.__exit__(None, None, None)
