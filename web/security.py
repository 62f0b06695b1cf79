"""Optional API keys: when ``PIXY_API_KEYS`` is set, every API route needs one."""

from __future__ import annotations

import hmac

from fastapi import Request

from core.exceptions import Unauthorized
from web.deps import SettingsDep


def _presented(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key")


async def require_api_key(request: Request, settings: SettingsDep) -> None:
    """Compare against every key in constant time, so timing tells nothing of which matched."""
    keys = settings.api_keys
    if not keys:
        return
    presented = (_presented(request) or "").encode()
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(presented, key.encode())
    if not matched:
        raise Unauthorized()
