"""Paging shared by the list routes: their query parameters and the next page's ``Link``."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request, Response

# Past MariaDB's BIGINT an offset is a SQL error; long before it, a pointless scan.
MAX_OFFSET = 10**9

Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
# An id to start after (``before``), or an opaque position (``cursor``).
Marker = Annotated[str | None, Query(max_length=64)]


def link_next(request: Request, response: Response, params: dict[str, Any]) -> None:
    """``Link: <path?params>; rel="next"`` on ``response``, for the path ``request`` came by."""
    # Relative (RFC 8288 allows it), so a forged Host header is never reflected.
    response.headers["Link"] = f'<{request.url.path}?{urlencode(params)}>; rel="next"'
