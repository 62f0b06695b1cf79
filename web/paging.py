"""Paging shared by the list routes: the offset cap and the next page's ``Link``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response

# Past MariaDB's BIGINT an offset is a SQL error; long before it, a pointless scan.
MAX_OFFSET = 10**9


def link_next(request: Request, response: Response, params: dict[str, Any]) -> None:
    """``Link: <path?params>; rel="next"`` on ``response``, for the path ``request`` came by."""
    # Relative (RFC 8288 allows it), so a forged Host header is never reflected.
    response.headers["Link"] = f'<{request.url.path}?{urlencode(params)}>; rel="next"'
