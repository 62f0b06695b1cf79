"""A raw ASGI POST, for tests that must play a client no HTTP library will (one that leaves, or lies)."""

from __future__ import annotations


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
