"""The static-file baseline for ``make bench``: one PNG through Starlette's ``FileResponse``.

Run as ``python scripts/bench_static.py FILE PORT``. It is served the way ``python -m web`` serves the
service (``uvicorn.run``, one process, the same loop and HTTP implementation, no access log), at the
same path shape, so the two differ only in what the service does per request.
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route


def build(path: str) -> Starlette:
    async def content(request: Request) -> FileResponse:
        return FileResponse(path, media_type="image/png")

    return Starlette(routes=[Route("/image/{guid}/content", content, methods=["GET", "HEAD"])])


def main() -> None:
    path, port = sys.argv[1], int(sys.argv[2])
    uvicorn.run(build(path), host="127.0.0.1", port=port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
