"""A webhook receiver the tests run: a tiny HTTP server on 127.0.0.1 that answers as it is told."""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = "whsec_" + base64.b64encode(b"pixyproxy webhook test secret!!").decode()
SLOW = -1  # an answer that comes only after the sender's timeout
TRICKLE = -2  # a status line, then one header line every 0.2 s for trickle_s: no read ever times out
HUGE = -3  # a 200 whose body is 256 MB
HUGE_BYTES = 256 * 2**20


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers ``answers`` in turn, then 200; records every POST."""

    answers: list[int] = field(default_factory=list)
    received: list[Delivery] = field(default_factory=list)
    slow_s: float = 1.0
    trickle_s: float = 20.0
    # Set, every answer waits until it is set: a test decides when this receiver answers.
    gate: threading.Event | None = None
    body_sent: int = 0  # bytes of HUGE bodies written before the sender hung up
    answered: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.received.append(Delivery(dict(self.headers.items()), body))
                status = receiver.answers.pop(0) if receiver.answers else 200
                if receiver.gate is not None:
                    receiver.gate.wait(timeout=60)
                try:
                    self.answer(status)
                except OSError:  # the sender hung up
                    pass
                finally:
                    receiver.answered.release()

            def answer(self, status: int) -> None:
                if status == SLOW:
                    time.sleep(receiver.slow_s)
                    status = 200
                if status == TRICKLE:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    until = time.monotonic() + receiver.trickle_s
                    while time.monotonic() < until:
                        self.wfile.write(b"x-trickle: 1\r\n")
                        time.sleep(0.2)
                    return
                self.send_response(200 if status == HUGE else status)
                self.send_header("content-length", str(HUGE_BYTES if status == HUGE else 0))
                self.end_headers()
                chunk = b"\0" * 2**16
                while status == HUGE and receiver.body_sent < HUGE_BYTES:
                    self.wfile.write(chunk)
                    receiver.body_sent += len(chunk)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.host}/hook"

    def wait_for(self, count: int, timeout: float = 30) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} deliveries arrived"
            time.sleep(0.02)
        return self.received

    def close(self) -> None:
        if self.gate is not None:
            self.gate.set()
        self.server.shutdown()
        self.server.server_close()
