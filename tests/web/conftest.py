from __future__ import annotations

from collections.abc import Iterator

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
