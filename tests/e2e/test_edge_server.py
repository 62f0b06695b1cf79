"""Issue 10 against the real server: forged log lines, and clients that trickle their head or body."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from bench.server import Server, start_server

TIMEOUT = 1.0  # PIXY_HEADER_TIMEOUT and PIXY_BODY_TIMEOUT for these servers
MARGIN = 4.0  # generous: the machine is shared


@pytest.fixture
def slow_server(settings, tmp_path) -> Iterator[Server]:
    running = start_server(settings, tmp_path, PIXY_HEADER_TIMEOUT=str(TIMEOUT), PIXY_BODY_TIMEOUT=str(TIMEOUT))
    yield running
    running.stop()


def test_a_newline_in_the_path_cannot_forge_a_log_line(server):
    response = httpx.get(server.url + "/x%0Aforged REQUEST END%0D%0Aforged too")
    assert response.status_code == 404
    request_id = response.headers["x-request-id"]
    time.sleep(0.2)  # the END line is written just after the answer goes out
    lines = server.lines()
    mine = [line for line in lines if request_id in line]
    assert [line.split("REQUEST ")[1][:3] for line in mine] == ["STA", "END"]
    assert r"/x\nforged REQUEST END\r\nforged too" in mine[1]
    assert not [line for line in lines if line.startswith("forged")]


def connect(server: Server) -> socket.socket:
    address = urlsplit(server.url)
    sock = socket.create_connection((address.hostname, address.port), timeout=TIMEOUT + MARGIN)
    return sock


def trickle_until_closed(sock: socket.socket, pieces: Iterator[bytes], *, every: float = 0.3) -> tuple[float, bytes]:
    """Send one piece every ``every`` seconds until the server closes; return the time that took and its answer."""
    started, answer = time.monotonic(), b""
    sock.settimeout(every)
    while time.monotonic() - started < TIMEOUT + MARGIN:
        try:
            sock.sendall(next(pieces))
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - started, answer
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - started, answer
        if not chunk:
            return time.monotonic() - started, answer
        answer += chunk
    pytest.fail(f"the server kept a trickling client for {TIMEOUT + MARGIN} s")


def header_lines() -> Iterator[bytes]:
    yield b"GET /health HTTP/1.1\r\nHost: x\r\n"
    for n in range(1000):
        yield b"X-Slow-%d: y\r\n" % n


def body_bytes() -> Iterator[bytes]:
    yield b"POST /image/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
    while True:
        yield b" "


def test_a_client_trickling_header_lines_is_cut_off(slow_server):
    with connect(slow_server) as sock:
        took, answer = trickle_until_closed(sock, header_lines())
    assert answer.startswith(b"HTTP/1.1 408")
    assert TIMEOUT * 0.9 <= took <= TIMEOUT + MARGIN


HEALTH = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"


def answer_to(sock: socket.socket, request: bytes) -> bytes:
    """Send a whole request and read its whole response, leaving the connection open."""
    sock.sendall(request)
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        assert chunk, f"the server closed the connection instead of answering: {answer!r}"
        answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?im)^content-length: *(\d+)", head).group(1))
    while len(body) < length:
        body += sock.recv(4096)
    return head


def test_a_kept_alive_connection_trickling_its_second_head_is_cut_off(slow_server):
    with connect(slow_server) as sock:
        assert answer_to(sock, HEALTH).startswith(b"HTTP/1.1 200")
        took, answer = trickle_until_closed(sock, header_lines())
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert TIMEOUT * 0.9 <= took <= TIMEOUT + MARGIN


def test_a_second_request_in_time_is_answered_on_a_connection_older_than_the_deadline(slow_server):
    with connect(slow_server) as sock:
        for _ in range(2):  # each head within its own deadline, the second past the connection's first
            time.sleep(TIMEOUT * 0.6)
            assert answer_to(sock, HEALTH).startswith(b"HTTP/1.1 200")


def test_a_connection_that_never_sends_is_closed(slow_server):
    with connect(slow_server) as sock:
        started = time.monotonic()
        assert sock.recv(4096).startswith(b"HTTP/1.1 408")
        assert sock.recv(4096) == b""
    assert time.monotonic() - started <= TIMEOUT + MARGIN


def test_a_client_trickling_its_body_gets_408_and_is_closed(slow_server):
    with connect(slow_server) as sock:
        took, answer = trickle_until_closed(sock, body_bytes())
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b'"detail"' in answer
    assert took <= TIMEOUT + MARGIN
    assert httpx.get(slow_server.url + "/image/").json() == []


def test_a_slow_server_still_serves_a_normal_keep_alive_client(slow_server):
    with httpx.Client(base_url=slow_server.url) as client:
        assert client.get("/health").status_code == 200
        time.sleep(TIMEOUT / 2)
        assert client.post("/image/", json={"prompt": "on time", "steps": 1}).status_code == 200
