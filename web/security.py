"""Optional API keys: when ``PIXY_API_KEYS`` is set, every route needs one except probes and the gallery.

The check is a middleware, not a dependency, because FastAPI parses a body before it runs dependencies:
a client without a key must get its 401 before anything of its body is looked at.
"""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from core.exceptions import Unauthorized
from core.settings import Settings
from web import errors

PROBES = ("/health", "/ready")
GALLERY = "/"
GALLERY_ASSETS = "/static/"
METRICS = ("/metrics",)
DOCS = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")


def _presented(headers: Headers) -> str | None:
    header = headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key")


def holds_key(headers: Headers, settings: Settings) -> bool:
    """Whether the request may see what keys guard: it holds a valid key, or no keys are set."""
    return not settings.api_keys or key_matches(_presented(headers), settings.api_keys)


def key_matches(presented: str | None, keys: list[str]) -> bool:
    """Compare against every key in constant time, so timing tells nothing of which matched."""
    candidate = (presented or "").encode()
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(candidate, key.encode())
    return matched


def open_paths(settings: Settings) -> tuple[str, ...]:
    """Paths that answer without a key: probes, the gallery page, and what the settings open."""
    return (
        PROBES
        + (GALLERY,)
        + (METRICS if settings.pixy_public_metrics else ())
        + (DOCS if settings.pixy_public_docs else ())
    )


class ApiKeyMiddleware:
    """Answers 401 (in the path's error dialect) before routing when a key is needed and none matches."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.keys = settings.api_keys
        self.open = open_paths(settings)

    def _needs_key(self, scope: Scope) -> bool:
        path = scope["path"]
        # A CORS preflight carries no credentials by design; the CORS middleware inside answers it.
        preflight = scope["method"] == "OPTIONS"
        return not (preflight or path in self.open or path.startswith(GALLERY_ASSETS))

    def _authorized(self, scope: Scope) -> bool:
        return key_matches(_presented(Headers(scope=scope)), self.keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.keys and self._needs_key(scope) and not self._authorized(scope):
            await errors.error_app(scope, Unauthorized())(scope, receive, send)
            return
        await self.app(scope, receive, send)
