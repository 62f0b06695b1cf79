"""Run Debian's nginx with deploy/nginx.conf in front of given API ports, for the end-to-end tests.

The shipped file is rendered, not copied: its lines tagged ``# pixy-upstream`` become one ``server`` line per
port, ``# pixy-listen`` a free loopback port, ``# pixy-access-log`` a log in the run's own folder, and the
temporary paths move there too, so nginx runs without root and without touching the system's nginx.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.server import free_port
from core.settings import ROOT

NGINX = Path("/usr/sbin/nginx")
CONFIG = ROOT / "deploy" / "nginx.conf"
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


@dataclass
class Nginx:
    url: str
    folder: Path
    upstreams: list[str]

    def access_lines(self) -> list[str]:
        path = self.folder / "access.log"
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []

    def answered_by(self, path: str, *, wait: float = 5.0) -> list[str]:
        """The upstream (host:port) of every logged request for exactly ``path``, in the order logged.

        nginx writes a request's log line just after its response goes out, so a client can be faster than
        the line: wait up to ``wait`` seconds for at least one.
        """
        pattern = re.compile(rf'"[A-Z]+ {re.escape(path)} HTTP/[0-9.]+" .* upstream=(\S+)')
        deadline = time.monotonic() + wait
        while True:
            found = [match[1] for line in self.access_lines() if (match := pattern.search(line))]
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(0.02)


def render(template: str, *, ports: Sequence[int], listen: int, folder: Path) -> str:
    """deploy/nginx.conf with its tagged lines pointed at ``ports``, ``listen`` and ``folder``."""
    lines, servers_written = [], False
    for line in template.splitlines():
        indent = line[: len(line) - len(line.lstrip())]
        if line.rstrip().endswith("# pixy-upstream"):
            if not servers_written:  # the first tagged line, with its parameters, once per port
                lines += [re.sub(r"server \S+", f"server 127.0.0.1:{port}", line, count=1) for port in ports]
                servers_written = True
        elif line.rstrip().endswith("# pixy-listen"):
            lines.append(f"{indent}listen 127.0.0.1:{listen};")
        elif line.rstrip().endswith("# pixy-access-log"):
            lines.append(f"{indent}access_log {folder / 'access.log'} pixy;")
            lines += [f"{indent}{name}_temp_path {folder / name};" for name in TEMP_DIRS]
        else:
            lines.append(line)
    assert servers_written, "deploy/nginx.conf lost its '# pixy-upstream' lines"
    return "\n".join(lines) + "\n"


@contextmanager
def running_nginx(ports: Sequence[int], *, timeout: float = 15) -> Iterator[Nginx]:
    """nginx on a free port in front of the API processes on ``ports``; stopped (and its folder removed) after."""
    folder = Path(tempfile.mkdtemp(prefix="pixy-nginx-"))
    listen = free_port()
    (folder / "nginx.conf").write_text(render(CONFIG.read_text(), ports=ports, listen=listen, folder=folder))
    for name in TEMP_DIRS:
        (folder / name).mkdir()
    # Started as root, nginx's workers would run as nobody, who cannot enter a private temporary folder.
    user = "user root; " if os.geteuid() == 0 else ""
    globals_ = f"daemon off; master_process on; pid {folder / 'nginx.pid'}; error_log stderr; {user}"
    command = [str(NGINX), "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", globals_]
    with (folder / "error.log").open("wb") as errors:
        process = subprocess.Popen(command, stdout=errors, stderr=subprocess.STDOUT)
    nginx = Nginx(url=f"http://127.0.0.1:{listen}", folder=folder, upstreams=[f"127.0.0.1:{port}" for port in ports])
    try:
        _wait_until_listening(process, nginx, timeout)
        yield nginx
    finally:
        process.terminate()  # SIGTERM: a fast shutdown
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until_listening(process: subprocess.Popen, nginx: Nginx, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited ({process.returncode}):\n{(nginx.folder / 'error.log').read_text()}")
        try:
            httpx.get(nginx.url + "/health", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"nginx did not listen in {timeout:.0f} s:\n{(nginx.folder / 'error.log').read_text()}")
