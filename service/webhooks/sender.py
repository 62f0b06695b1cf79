"""One webhook POST, bounded as a whole: it ends by its deadline however a receiver dribbles its answer,
and only the answer's head is read.

httpx's timeouts bound each read, so a receiver sending a header line every 2 s held a 5 s attempt for
44 s, and ``.post()`` read a 400 MB answer whole. Here every socket operation of an attempt waits at most
what is left of one deadline (httpcore's network backend is the seam), and the body is never read.
"""

from __future__ import annotations

import ssl
import time
from typing import Any

import httpcore
import httpx

# Whatever a receiver may make an attempt end with: it may come back, so these are tried again.
SEND_ERRORS = (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError)


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def left(self, timeout: float | None, expired: type[httpcore.TimeoutException]) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise expired("the attempt's deadline passed")
        return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._inner, self._deadline = inner, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        left = self._deadline.left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, left), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, deadline: _Deadline) -> None:
        self._inner, self._deadline = httpcore.SyncBackend(), deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        left = self._deadline.left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, left, local_address, socket_options), self._deadline)


class WebhookSender:
    """POSTs with a total deadline of ``timeout`` seconds each; no proxies from the environment, no redirects."""

    def __init__(self, *, timeout: float) -> None:
        self.timeout = timeout
        self._tls = httpx.create_ssl_context(trust_env=False)  # certifi's roots, as httpx had

    def post(self, url: str, *, body: bytes, headers: dict[str, str]) -> int:
        """The receiver's status code; one of ``SEND_ERRORS`` when none came by the deadline."""
        backend = _Backend(_Deadline(self.timeout))
        with (
            httpcore.ConnectionPool(
                ssl_context=self._tls, network_backend=backend, max_keepalive_connections=0
            ) as pool,
            pool.stream("POST", url, headers=headers, content=body) as response,
        ):
            return response.status
