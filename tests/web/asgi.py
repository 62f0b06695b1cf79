"""A raw ASGI POST, for tests that must play a client no HTTP library will (one that leaves, or lies)."""

from __future__ import annotations

import asyncio
import json


def post_scope(path: str, headers: list[tuple[bytes, bytes]] | None = None) -> dict:
    """The scope of ``POST path`` with a JSON content type (plus ``headers``), from a loopback client."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test"), (b"content-type", b"application/json"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }


def post_then_leave(app, path: str, body: dict, *, leave_when, headers: dict[str, str] | None = None) -> list[int]:
    """POST straight to the ASGI app as a client that disconnects once ``leave_when()`` holds.

    Returns the statuses the app sent (the server would drop them: no one is listening).
    """
    sent_body = False
    statuses: list[int] = []

    async def receive():
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": json.dumps(body).encode(), "more_body": False}
        while not leave_when():
            await asyncio.sleep(0.02)
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    raw = [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    asyncio.run(asyncio.wait_for(app(post_scope(path, raw), receive, send), timeout=30))
    return statuses
