"""The cap on request bodies: a declared or streamed body over ``max_body_bytes`` is a 413,
and one that has not fully arrived ``body_timeout`` seconds after the head is a 408.

A route that takes uploads (``POST /v1/images/edits``) has its own, larger cap in ``per_path``."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.exceptions import PayloadTooLarge, RequestTimeout

BODILESS = ("GET", "HEAD", "DELETE", "OPTIONS")


class BodyLimitMiddleware:
    """Refuses an oversized body without reading it all; the request log's error handler answers."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, body_timeout: float = 30.0, per_path: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self.per_path = per_path or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            receive = await self._bounded(scope, receive)
        await self.app(scope, receive, send)

    async def _bounded(self, scope: Scope, receive: Receive) -> Receive:
        limit = self.per_path.get(scope["path"], self.max_body_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge()
        if scope["method"] in BODILESS:
            return receive
        try:
            async with asyncio.timeout(self.body_timeout):  # a trickled body must not hold a worker forever
                return await self._read_all(receive, limit)
        except TimeoutError:
            raise RequestTimeout() from None

    async def _read_all(self, receive: Receive, limit: int) -> Receive:
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return receive
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > limit:
                raise PayloadTooLarge()
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay
