"""Serve PixyProxy: ``python -m web``."""

from __future__ import annotations

import sys

import uvicorn

from core.settings import get_settings
from service.generation.interface import ImageGenerator
from web.app import create_app
from web.request_log import configure_logging
from web.slow_clients import head_deadline_protocol


def main(generator: ImageGenerator | None = None) -> None:
    """Serve; a bench passes its stand-in ``generator`` (the model is loaded otherwise)."""
    settings = get_settings()
    configure_logging(settings.pixy_log_level)
    if settings.distributed:  # a broker, database or peer that cannot work is one line, not a traceback
        from service.distributed.preflight import api_problem

        if problem := api_problem(settings):
            print(f"pixyproxy: {problem}", file=sys.stderr)
            sys.exit(2)
    uvicorn.run(
        create_app(settings, generator=generator),
        host=settings.pixy_host,
        port=settings.pixy_port,
        log_config=None,
        http=head_deadline_protocol(settings.pixy_header_timeout),
        access_log=False,
    )


if __name__ == "__main__":
    main()
