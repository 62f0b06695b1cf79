"""``make bench``: the service against the bare pipeline and a static file server, in one run, side by side.

1. raw pipeline images/s in-process (the model's default steps/size, the same seeds),
2. service images/s over HTTP at concurrency 1, 4 and 8 (a real ``python -m web`` on a free port, its own
   database, disk storage in a temp dir), and micro-batching at c8 (``PIXY_MAX_BATCH`` 1 against 4),
3. ``GET /image/{guid}/content`` against a plain Starlette ``FileResponse`` of the same PNG, and
   ``GET /image/`` latency with 100,000 rows seeded through the repository's ``add_many``,
4. the server's VmHWM/VmRSS before and after 500 more requests,
5. the gallery's first page (100 images at 512x512) as thumbnails against its PNGs, and a warm thumbnail's
   req/s against the PNG's,
6. a step's progress event reaching an SSE client (p95 ms), and the steps a cancel lets run,
7. the distributed mode's scale-out: N workers whose generator sleeps 200 ms an image against one
   (``scale_efficiency``), and enqueue-to-start latency on an idle worker (``--only scale`` runs just this),
8. the ceiling: the service with a stand-in generator that answers at once with photo-like 512x512 content,
   ``POST /image/`` and ``POST /jobs`` at c16, the server's CPU per image, and the distributed mode with one
   stand-in worker (``--only ceiling`` runs just this),
9. several models on one box: a model switch's cost per request (``model_switch_ms``) and requests alternating
   between tiny and tiny-xl against each alone at c8 (``mixed_models_over_single``; ``--only models``),
then the pieces of a request in-process, to say why a target is missed. Writes ``docs/benchmarks.json``
and ``docs/benchmarks.md``. ``--model sd15-random`` (GPU only) runs it all on a random-weight pipeline
with SD 1.5's architecture, built under ``models/sd15-random``. ``--quick`` is a smoke run of a minute
or two, written to a temp dir unless ``--out`` says where.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench import report
from bench.run import Bench, drop_databases
from core.settings import ROOT, Settings

QUICK = {
    "rounds": 1, "images": 2, "read_seconds": 0.2, "rows": 2000, "list_requests": 20, "memory_requests": 40,
    "thumb_images": 4, "live_jobs": 1, "scale_workers": [1, 2], "scale_jobs": 5, "scale_rounds": 1,
    "scale_latency_jobs": 5, "ceiling_rounds": 1, "ceiling_requests": 96,
}  # fmt: skip


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", choices=["tiny", "sd15-random"], default=os.environ.get("PIXY_BENCH_MODEL", "tiny"))
    parser.add_argument("--rounds", type=int, help="interleaved rounds per comparison")
    parser.add_argument("--images", type=int, help="images per throughput measurement")
    parser.add_argument("--read-seconds", type=float, default=1.0, help="seconds per read-path measurement")
    parser.add_argument("--rows", type=int, default=100_000, help="rows seeded for the list benchmark")
    parser.add_argument("--list-requests", type=int, default=300)
    parser.add_argument("--memory-requests", type=int, default=500)
    parser.add_argument("--batch-wait-ms", type=int, default=0)
    parser.add_argument("--thumb-images", type=int, default=100, help="512x512 images behind the gallery page weight")
    parser.add_argument("--live-jobs", type=int, default=5, help="jobs behind each live-event figure")
    parser.add_argument("--scale-workers", type=_sizes, default=[1, 2, 4, 8], help="worker counts, e.g. 1,2,4,8")
    parser.add_argument("--scale-jobs", type=int, default=20, help="jobs per worker in each scale measurement")
    parser.add_argument("--scale-rounds", type=int, default=3, help="rounds, each N beside 1 worker")
    parser.add_argument("--scale-latency-jobs", type=int, default=20, help="jobs behind enqueue_to_start_p50_ms")
    parser.add_argument("--ceiling-rounds", type=int, default=3, help="rounds of the ceiling figures")
    parser.add_argument("--ceiling-requests", type=int, default=480, help="requests per ceiling measurement")
    parser.add_argument(
        "--only",
        choices=["scale", "ceiling", "models"],
        help="run this section alone (written to a temp dir unless --out)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: " + ", ".join(f"{k}={v}" for k, v in QUICK.items())
    )
    parser.add_argument("--out", type=Path, help="output prefix (default docs/benchmarks[-MODEL])")
    args = parser.parse_args(argv)
    if args.quick:
        vars(args).update(QUICK)
    if args.quick or args.only:
        args.out = args.out or Path(tempfile.mkdtemp(prefix="pixy-bench-quick-")) / "benchmarks"
    args.images = args.images or (24 if args.model == "tiny" else 8)
    args.rounds = args.rounds or (5 if args.model == "tiny" else 3)
    args.out = args.out or ROOT / ("docs/benchmarks" if args.model == "tiny" else f"docs/benchmarks-{args.model}")
    return args


def _sizes(text: str) -> list[int]:
    sizes = sorted({int(n) for n in text.split(",")})
    if sizes[0] != 1:
        raise argparse.ArgumentTypeError("the worker counts start at 1: each N is measured against one worker")
    return sizes


def build_sd15() -> None:
    from bench import sd15

    print("building models/sd15-random (random weights, SD 1.5 architecture) if missing", flush=True)
    sd15.build(Settings().pixy_models_dir / sd15.NAME)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.model == "sd15-random":
        import torch

        if not torch.cuda.is_available():
            print("skipping --model sd15-random: it needs a CUDA GPU, and this machine has none.")
            return 0
        build_sd15()
    tmp = Path(tempfile.mkdtemp(prefix="pixy-bench-"))
    drop_databases()
    bench = Bench(args, tmp)
    result = None
    try:
        result = bench.run_only() if args.only else bench.run()
    finally:
        bench.close()
        drop_databases()
        if result is None:
            print(f"benchmark failed; server logs kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    json_path, md_path = report.write(result, args.out)
    print(md_path.read_text(encoding="utf-8"))
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
