"""The real server as a subprocess per test, started by ``bench.server``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.server import Server, start_server, stop_server

__all__ = ["Server", "start_server", "stop_server"]


@pytest.fixture
def server(settings, tmp_path) -> Iterator[Server]:
    running = start_server(settings, tmp_path)
    yield running
    running.stop()
