"""One server launcher for the end-to-end tests, the browser tests and the benchmark.

``start`` runs ``python -m web`` (or another argv) on a free port with environment overrides and
returns once it answers HTTP; ``start_server`` is the end-to-end flavour, which ignores a developer's
``.env`` keys, CORS origins and storage so that every test server behaves the same.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from core.settings import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A server subprocess, its base URL and the file its stdout and stderr go to."""

    url: str
    log: Path
    process: subprocess.Popen

    def lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8", errors="replace").splitlines()

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]

    def memory_mb(self) -> dict[str, float]:
        """Peak (VmHWM) and current (VmRSS) resident memory, from /proc (psutil is not installed)."""
        values = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(value.split()[0]) / 1024
        return values

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(
    *,
    log: Path,
    env: Mapping[str, str] | None = None,
    argv: Sequence[str] | None = None,
    ready_path: str = "/health",
    timeout: float = 120,
) -> Server:
    """Run ``argv`` (default ``python -m web``) and wait until ``ready_path`` answers below 500.

    ``{port}`` in ``argv`` or in ``env``'s values becomes the free port; ``PIXY_HOST`` and ``PIXY_PORT``
    are set to it. Raises with the log's tail if the process exits early or never answers.
    """
    port = free_port()
    base = {"PIXY_HOST": "127.0.0.1", "PIXY_PORT": str(port), "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    merged = {key: value.replace("{port}", str(port)) for key, value in (base | dict(env or {})).items()}
    command = [arg.replace("{port}", str(port)) for arg in argv or [sys.executable, "-m", "web"]]
    with log.open("wb") as handle:
        process = subprocess.Popen(command, cwd=ROOT, env=os.environ | merged, stdout=handle, stderr=subprocess.STDOUT)
    server = Server(url=f"http://127.0.0.1:{port}", log=log, process=process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{log.name}: server exited early:\n{server.tail()}")
        try:
            if httpx.get(server.url + ready_path, timeout=2).status_code < 500:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{log.name}: server did not come up in {timeout:.0f} s:\n{server.tail()}")


def start_server(settings, tmp_path: Path, *, log_name: str = "server.log", **env_overrides: str) -> Server:
    """``python -m web`` with the tiny model, disk storage under ``tmp_path``, no keys and no CORS."""
    env = {
        "PIXY_MODEL": "tiny",
        "PIXY_STORAGE": "disk",
        "PIXY_API_KEYS": "",
        "PIXY_CORS_ORIGINS": "",
        "PIXY_IMAGES_DIR": str(tmp_path / "images"),
        "DB_NAME": settings.db_name,
    }
    return start(log=tmp_path / log_name, env=env | env_overrides, timeout=90)


def stop_server(running: Server) -> None:
    running.stop()
