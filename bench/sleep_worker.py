"""``python -m bench.sleep_worker``: a distributed-mode worker whose generator sleeps 200 ms an image.

One image at a time (PIXY_MAX_BATCH=1, so Celery concurrency 1), as the scale-out benchmark wants.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ["PIXY_MAX_BATCH"] = "1"  # read when the worker module builds its settings: set it first
    from bench.sleep_generator import SleepGenerator
    from service.distributed.worker import main as worker_main

    return worker_main(argv, generator=SleepGenerator())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
