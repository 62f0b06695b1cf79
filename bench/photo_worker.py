"""``python -m bench.photo_worker``: a distributed-mode worker whose generator answers at once with photo-like
512x512 content (bench/photo_generator.py): the distributed ceiling measures everything but the model."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from bench.photo_generator import PhotoGenerator
    from service.distributed.worker import main as worker_main

    return worker_main(argv, generator=PhotoGenerator())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
