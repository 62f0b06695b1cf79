"""The static-file baselines for ``make bench``: one PNG through Starlette's ``FileResponse``.

``python -m bench.static FILE PORT`` serves it from a bare Starlette app; with ``--same-server``
from the PixyProxy app itself (its middleware, request log, metrics and lifespan), on an extra route.
Both run the way ``python -m web`` runs the service (``uvicorn.run``, one process, the same loop and
HTTP implementation, no access log), at the same path shape, so they differ from the service's content
route only in what that route does per request.
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route


def build(path: str, *, same_server: bool) -> Starlette:
    async def content(request: Request) -> FileResponse:
        return FileResponse(path, media_type="image/png")

    if not same_server:
        return Starlette(routes=[Route("/image/{guid}/content", content, methods=["GET", "HEAD"])])
    from core.settings import get_settings
    from web.app import create_app
    from web.request_log import configure_logging

    configure_logging(get_settings().pixy_log_level)
    app = create_app(get_settings())
    app.router.routes.insert(0, Route("/image/{guid}/content", content, methods=["GET", "HEAD"]))
    return app


def main() -> None:
    path, port = sys.argv[1], int(sys.argv[2])
    app = build(path, same_server="--same-server" in sys.argv)
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
