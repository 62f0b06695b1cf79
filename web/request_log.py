"""Two log lines per request, with a request id on each that the client gets in ``X-Request-ID``."""

from __future__ import annotations

import itertools
import logging
import re
import socket
import sys
import threading
import time
from contextvars import ContextVar
from datetime import datetime

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("pixyproxy.request")
request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
LOG_FORMAT = "%(asctime)s %(levelname)s %(request_id)s [%(thread)d] [%(funcName)s:%(lineno)d] %(message)s"
_HOST = socket.gethostname().split(".")[0] or "host"
_counter = itertools.count(1)


def new_request_id() -> str:
    """Host, date-time to the microsecond, thread id and a counter: unique under asyncio too."""
    stamp = datetime.now().strftime("%Y%m%d%H%M%S%f")
    return f"{_HOST}-{stamp}-{threading.get_ident()}-{next(_counter)}"


_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match[0]
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def escape_controls(text: str) -> str:
    """One record, one line: a decoded path with %0A in it must not forge a log line."""
    return _CONTROLS.sub(_escaped, text)


class EscapingFormatter(logging.Formatter):
    """Escapes control characters in the line itself; a traceback after it keeps its own line breaks."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_controls(super().formatMessage(record))


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(EscapingFormatter(LOG_FORMAT))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


async def record_route(request: Request) -> None:
    """App-wide dependency: keeps the matched route's template for the END line and the metrics."""
    route = request.scope.get("route")
    request.state.route = getattr(route, "path", None)


class RequestLogMiddleware:
    """Writes REQUEST START and REQUEST END for every request, routed or not."""

    def __init__(self, app: ASGIApp, *, on_error, on_finish=None) -> None:
        self.app = app
        self.on_error = on_error
        self.on_finish = on_finish

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = {"code": 500, "sent": False, "done": False}
        logger.info("REQUEST START")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                status["done"] = True
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if status["sent"]:
                raise
            await self.on_error(scope, exc)(scope, receive, send_with_id)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            route = scope["state"].get("route") or "-"
            # Headers went out but the body never finished (the app failed mid-body, or the client left).
            aborted = status["sent"] and not status["done"]
            logger.info(
                "REQUEST END %s %s %s route=%s %.1fms%s",
                scope["method"],
                scope["path"],
                status["code"],
                route,
                elapsed,
                " aborted" if aborted else "",
            )
            if self.on_finish:
                self.on_finish(scope["method"], route, "aborted" if aborted else status["code"], elapsed / 1000)
            request_id_var.reset(token)
