"""Absolute URLs handed to clients (OpenAI's ``url``, MCP's ``content_url``)."""

from __future__ import annotations

from starlette.requests import Request

from core.settings import Settings


def public_base_url(request: Request | None, settings: Settings) -> str:
    """The configured public URL, else the one the client reached us by; it ends with a slash.

    Without a request (an MCP call from outside HTTP) and no public URL, only a relative root is known.
    """
    if settings.pixy_public_url:
        return settings.pixy_public_url.rstrip("/") + "/"
    return str(request.base_url) if request is not None else "/"


def content_url(base_url: str, guid: str, fmt: str = "png") -> str:
    """Where an image's bytes are served, in ``fmt`` (a variant unless png)."""
    query = f"?format={fmt}" if fmt != "png" else ""
    return f"{base_url}image/{guid}/content{query}"
