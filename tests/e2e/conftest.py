from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from core.settings import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    log: Path
    process: subprocess.Popen

    def lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8", errors="replace").splitlines()


def start_server(settings, tmp_path: Path, *, log_name: str = "server.log", **env_overrides: str) -> Server:
    port = free_port()
    env = (
        os.environ
        | {
            "PIXY_HOST": "127.0.0.1",
            "PIXY_PORT": str(port),
            "PIXY_MODEL": "tiny",
        "PIXY_STORAGE": "disk",
        "PIXY_API_KEYS": "",
        "PIXY_CORS_ORIGINS": "",
            "PIXY_IMAGES_DIR": str(tmp_path / "images"),
            "DB_NAME": settings.db_name,
            "HF_HUB_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
        }
        | env_overrides
    )
    log = tmp_path / log_name
    handle = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "web"], cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        try:
            httpx.get(f"{url}/image/", timeout=1)
            return Server(url=url, log=log, process=process)
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"server did not come up:\n{log.read_text()}")


def stop_server(running: Server) -> None:
    running.process.terminate()
    try:
        running.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        running.process.kill()


@pytest.fixture
def server(settings, tmp_path) -> Iterator[Server]:
    running = start_server(settings, tmp_path)
    yield running
    stop_server(running)
