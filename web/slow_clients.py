"""A deadline on the request head: uvicorn has none, so a client trickling header lines holds its socket forever.

The deadline runs from the moment the server waits for a head (a new connection, or the end of the last
response) until the head is complete; a client that misses it gets a 408 and its connection is closed.
Bodies have their own deadline in ``web.body_limit``.
"""

from __future__ import annotations

import asyncio
import logging

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

logger = logging.getLogger(__name__)
_BODY = b'{"detail": "the request head arrived too slowly"}'
TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_BODY), _BODY)
)


class HeadDeadlineProtocol(HttpToolsProtocol):
    header_timeout: float = 10.0
    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self._idle():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _idle(self) -> bool:
        """No request in flight: a pipelined one started by the last response keeps its own pace."""
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        self._disarm()
        self._head_deadline = self.loop.call_later(self.header_timeout, self._timed_out)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _timed_out(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing() or not self._idle():
            return
        logger.warning("closed a connection whose request head took over %.0f s", self.header_timeout)
        self.transport.write(TIMED_OUT)
        self.transport.close()


def head_deadline_protocol(header_timeout: float) -> type[HeadDeadlineProtocol]:
    """uvicorn builds one protocol per connection from a class, so the setting travels on a subclass."""
    return type("HeadDeadline", (HeadDeadlineProtocol,), {"header_timeout": header_timeout})
