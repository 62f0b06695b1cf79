"""``make bench``: the service against the bare pipeline and a static file server, in one run, side by side.

Absolute times drift on a shared machine, so every figure that matters is a ratio of two measurements
taken next to each other: raw and service rounds alternate (their order rotating each round) and the
ratio of each round is taken, then the median of those. Measured:

1. raw pipeline images/s in-process (``load_generator``, the model's default steps/size, the same seeds),
2. service images/s over HTTP at concurrency 1, 4 and 8 (a real ``python -m web`` on a free port, its own
   database, disk storage in a temp dir), and micro-batching at c8 (``PIXY_MAX_BATCH`` 1 against 4),
3. ``GET /image/{guid}/content`` against a plain Starlette ``FileResponse`` of the same PNG, and
   ``GET /image/`` latency with 100,000 rows seeded through ``MySQLImageRepository.add_many``,
4. the server's VmHWM/VmRSS before and after 500 more requests,
then the pieces of a request in-process, to say why a target is missed. Writes ``docs/benchmarks.json``
and ``docs/benchmarks.md``. ``--model sd15-random`` (GPU only) runs it all on a random-weight pipeline
with SD 1.5's architecture, built under ``models/sd15-random``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench import diagnose as bench_diag
from bench import report as bench_report
from bench.load import ROOT, Proc, launch, launch_service, median, merge_loads, percentile, run_load
from core.models import GenerationParams
from core.settings import Settings
from data.connection import open_connection

PROMPT = "a lighthouse at dusk, oil painting"
DATABASES = {"main": "pixyproxy_bench", "batch": "pixyproxy_bench_batch", "list": "pixyproxy_bench_list"}


def drop_databases() -> None:
    conn = open_connection(Settings(), database=False)
    try:
        with conn.cursor() as cur:
            for name in DATABASES.values():
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args, self.tmp = args, tmp
        self.servers: dict[str, Proc] = {}
        self.result: dict = {"model": args.model, "rounds": args.rounds, "images_per_measurement": args.images}
        self.guids: list[str] = []

    # -- generation ---------------------------------------------------------------------------------
    def params(self, seed: int) -> GenerationParams:
        p = self.generator.info.profile
        return GenerationParams(
            prompt=PROMPT, negative_prompt="", seed=seed, steps=p.steps,
            guidance_scale=p.guidance_scale, width=p.width, height=p.height,
        )  # fmt: skip

    def raw(self, seeds: list[int], batch: int = 1) -> float:
        started = time.perf_counter()
        for i in range(0, len(seeds), batch):
            self.generator.generate([self.params(s) for s in seeds[i : i + batch]])
        return len(seeds) / (time.perf_counter() - started)

    def service(self, name: str, concurrency: int, seeds: list[int], keep: bool = False):
        """Images/s over HTTP (or the whole ``Load`` with ``keep``); remembers the main server's guids."""
        load = run_load(
            self.servers[name].url, concurrency,
            lambda client, i: client.post("/image/", json={"prompt": PROMPT, "seed": seeds[i]}),
            count=len(seeds), keep_bodies=True,
        )  # fmt: skip
        self.errors += load.errors
        if name == "main":
            self.guids += [b["guid"] for b in load.bodies if b]
        return load if keep else load.rate

    def throughput(self) -> None:
        n, rounds = self.args.images, self.args.rounds
        steps = [
            ("raw", lambda s: self.raw(s)),
            ("raw_b4", lambda s: self.raw(s, batch=4)),
            ("c1", lambda s: self.service("main", 1, s, keep=True)),
            ("c4", lambda s: self.service("main", 4, s)),
            ("c8", lambda s: self.service("main", 8, s)),
            ("c8_batch4", lambda s: self.service("batch", 8, s)),
        ]
        runs: dict[str, list] = {name: [] for name, _ in steps}
        for r in range(rounds):
            seeds = [r * 1000 + i for i in range(n)]
            for name, step in steps[r % len(steps) :] + steps[: r % len(steps)]:
                runs[name].append(step(seeds))
                time.sleep(0.2)
            print(f"  round {r + 1}/{rounds}: raw {runs['raw'][-1]:.1f}/s, c1 {runs['c1'][-1].rate:.1f}/s", flush=True)
        c1_loads = runs["c1"]
        runs["c1"] = [load.rate for load in c1_loads]
        res = self.result
        res["raw_images_per_s"] = median(runs["raw"])
        res["raw_batch4_images_per_s"] = median(runs["raw_b4"])
        res["service_images_per_s"] = {c: median(runs[c]) for c in ("c1", "c4", "c8")}
        res["batch4_service_images_per_s_c8"] = median(runs["c8_batch4"])
        for c in ("c1", "c4", "c8"):
            res[f"service_over_raw_{c}"] = median([s / r for s, r in zip(runs[c], runs["raw"], strict=True)])
        res["service_over_raw_c1_rounds"] = [round(s / r, 3) for s, r in zip(runs["c1"], runs["raw"], strict=True)]
        res["batching_gain_c8"] = median([b / a for b, a in zip(runs["c8_batch4"], runs["c8"], strict=True)])
        res["raw_batch4_over_raw"] = median([b / a for b, a in zip(runs["raw_b4"], runs["raw"], strict=True)])
        res["c1_request_split"] = bench_diag.request_split(merge_loads(c1_loads), self.servers["main"])
        res["c1_request_split"]["raw_pipeline_ms"] = 1000 / res["raw_images_per_s"]

    # -- read path ----------------------------------------------------------------------------------
    def content(self) -> None:
        guid = self.guids[0]
        path = self.tmp / "images-main" / f"{guid}.png"
        argv = [sys.executable, "-m", "bench.static", str(path), "{port}"]
        self.servers["static"] = launch("static", argv, self.tmp / "static.log")
        same = [*argv, "--same-server"]
        self.servers["same"] = launch_service("same", self.tmp, argv=same, DB_NAME=DATABASES["main"])
        for name in ("static", "same"):
            self.servers[name].wait_ready(f"/image/{guid}/content")
        runs: dict[str, list] = {}
        names = ("main", "static", "same")
        targets = [(name, c) for c in (1, 4) for name in names]
        for r in range(self.args.rounds):
            for name, c in targets[r % 3 :] + targets[: r % 3]:
                load = run_load(self.servers[name].url, c, lambda client, _: client.get(f"/image/{guid}/content"),
                                duration=self.args.read_seconds)  # fmt: skip
                self.errors += load.errors
                runs.setdefault(f"{name}_c{c}", []).append(load)
        res = self.result
        for c in (1, 4):
            service = runs[f"main_c{c}"]
            res[f"content_rps_c{c}"] = median([x.rate for x in service])
            for name, key in (("static", "static"), ("same", "same_server_static")):
                baseline = runs[f"{name}_c{c}"]
                res[f"{key}_rps_c{c}"] = median([x.rate for x in baseline])
                ratios = [a.rate / b.rate for a, b in zip(service, baseline, strict=True)]
                res[f"content_over_{key}_c{c}"] = median(ratios)
            res[f"client_cpu_ms_per_request_c{c}"] = median(
                [1000 * x.client_cpu_s / max(x.ok, 1) for x in service + runs[f"static_c{c}"]]
            )
        res["content_over_static"] = res["content_over_same_server_static_c4"]
        res["content_png_bytes"] = path.stat().st_size

    def listing(self) -> None:
        settings = Settings(db_name=DATABASES["list"], pixy_storage="mysql")
        seconds, middle = bench_diag.seed_rows(settings, self.args.rows)
        print(f"  seeded {self.args.rows} rows in {seconds:.1f}s", flush=True)
        server = self.servers["list"]
        first = run_load(server.url, 1, lambda client, _: client.get("/image/"), count=20)  # warm-up
        assert first.errors == 0 and first.ok == 20
        load = run_load(server.url, 1, lambda client, _: client.get("/image/"), count=self.args.list_requests)
        deep = run_load(server.url, 1, lambda client, _: client.get(f"/image/?before={middle}"), count=50)
        self.errors += load.errors + deep.errors
        by_id = server.server_ms()
        res = self.result
        res["seed_rows"], res["seed_seconds"] = self.args.rows, seconds
        res["list_p50_ms_100k"] = percentile(load.latencies_ms, 50)
        res["list_p95_ms_100k"] = percentile(load.latencies_ms, 95)
        res["list_server_p50_ms_100k"] = median([by_id[r] for r in load.request_ids if r in by_id])
        res["list_before_middle_p50_ms"] = percentile(deep.latencies_ms, 50)
        res["list_before_middle_p95_ms"] = percentile(deep.latencies_ms, 95)
        res["list_costs"] = bench_diag.list_costs(settings)

    # -- memory -------------------------------------------------------------------------------------
    def memory(self) -> None:
        server, guids = self.servers["main"], self.guids

        def mixed(client, i: int):
            if i % 10 == 8:
                return client.get(f"/image/{guids[i % len(guids)]}/content")
            if i % 10 == 9:
                return client.get("/image/")
            return client.post("/image/", json={"prompt": f"{PROMPT} #{i}", "seed": 50_000 + i, "steps": 1})

        run_load(server.url, 4, mixed, count=20)  # the same mix, to warm the paths once
        before = server.memory_mb()
        load = run_load(server.url, 4, mixed, count=500)
        after = server.memory_mb()
        self.errors += load.errors
        res = self.result
        res["memory_mix"] = "500 requests at concurrency 4: 400 POST /image/ (steps=1, distinct prompts and seeds), "
        res["memory_mix"] += "50 GET /image/{guid}/content, 50 GET /image/; after 20 warm-up requests of the same mix"
        res["memory_requests_ok"] = load.ok
        res["rss_before_mb"], res["rss_after_mb"] = before["VmRSS"], after["VmRSS"]
        res["hwm_before_mb"], res["hwm_after_mb"] = before["VmHWM"], after["VmHWM"]
        res["rss_growth_mb_500"] = max(after["VmRSS"] - before["VmRSS"], after["VmHWM"] - before["VmHWM"])

    # -- the run ------------------------------------------------------------------------------------
    def run(self) -> dict:
        from service.generator import load_generator

        started = time.perf_counter()
        self.errors = 0
        drop_databases()
        common = {"PIXY_MODEL": self.args.model, "PIXY_STRICT_MODEL": "1", "PIXY_MAX_QUEUE": "16"}
        self.servers["main"] = launch_service("main", self.tmp, DB_NAME=DATABASES["main"], PIXY_MAX_BATCH="1",
                                              **common)  # fmt: skip
        self.servers["batch"] = launch_service("batch", self.tmp, DB_NAME=DATABASES["batch"], PIXY_MAX_BATCH="4",
                                               PIXY_BATCH_WAIT_MS=str(self.args.batch_wait_ms), **common)  # fmt: skip
        self.servers["list"] = launch_service("list", self.tmp, DB_NAME=DATABASES["list"], PIXY_STORAGE="mysql",
                                              **common)  # fmt: skip
        self.generator = load_generator(Settings(pixy_model=self.args.model, pixy_strict_model=True))
        info = self.generator.info
        ready = {name: self.servers[name].wait_ready("/ready").json() for name in ("main", "batch", "list")}
        assert all(r["model"] == info.model and not r["fallback"] for r in ready.values()), ready
        self.result |= {
            "device": info.device, "dtype": info.dtype, "model_loaded": info.model,
            "steps": info.profile.steps, "guidance_scale": info.profile.guidance_scale,
            "width": info.profile.width, "height": info.profile.height, "prompt": PROMPT,
            "batch_wait_ms": self.args.batch_wait_ms, "cpu_count": os.cpu_count(),
            "torch_threads": self.generator._torch.get_num_threads(), "loadavg_start": os.getloadavg()[0],
        }  # fmt: skip
        print(f"model {info.model} on {info.device} ({info.dtype}), profile {info.profile}", flush=True)
        self.raw(list(range(4)))  # warm-up, both sides
        self.raw(list(range(4)), batch=4)
        warm = self.service("main", 1, list(range(4)), keep=True)
        assert warm.bodies[0]["steps"] == info.profile.steps and warm.bodies[0]["width"] == info.profile.width
        self.service("main", 8, list(range(8)))
        self.service("batch", 8, list(range(8)))
        print("throughput: raw pipeline vs service (c1/c4/c8), batching", flush=True)
        self.throughput()
        print("read path: content vs static file", flush=True)
        self.content()
        print(f"list: {self.args.rows:,} rows", flush=True)
        self.listing()
        print("memory: 500 requests", flush=True)
        self.memory()
        print("diagnostics", flush=True)
        main_settings = Settings(db_name=DATABASES["main"])
        image = self.generator.generate([self.params(7)])[0].image
        res = self.result
        res["store_costs"] = bench_diag.store_costs(
            main_settings, image, info.profile, info.model, info.sampler, self.tmp / "scratch"
        )
        res["content_costs"] = bench_diag.content_costs(main_settings, self.tmp / "images-main", self.guids[0])
        res["connect_costs"] = bench_diag.connect_costs(main_settings)
        res["non_2xx_responses"] = self.errors
        res["loadavg_end"] = os.getloadavg()[0]
        res["duration_s"] = time.perf_counter() - started
        return res

    def close(self) -> None:
        for server in self.servers.values():
            server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["tiny", "sd15-random"], default=os.environ.get("PIXY_BENCH_MODEL", "tiny"))
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds per comparison")
    parser.add_argument("--images", type=int, default=None, help="images per throughput measurement")
    parser.add_argument("--read-seconds", type=float, default=1.0, help="seconds per read-path measurement")
    parser.add_argument("--rows", type=int, default=100_000, help="rows seeded for the list benchmark")
    parser.add_argument("--list-requests", type=int, default=300)
    parser.add_argument("--batch-wait-ms", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="output prefix (default docs/benchmarks)")
    args = parser.parse_args(argv)
    if args.model == "sd15-random":
        import torch

        if not torch.cuda.is_available():
            print("skipping --model sd15-random: it needs a CUDA GPU, and this machine has none.")
            return 0
        from bench import sd15 as bench_sd15

        print("building models/sd15-random (random weights, SD 1.5 architecture) if missing", flush=True)
        bench_sd15.build(Settings().pixy_models_dir / bench_sd15.NAME)
    args.images = args.images or (24 if args.model == "tiny" else 8)
    args.rounds = args.rounds or (5 if args.model == "tiny" else 3)
    default_out = "docs/benchmarks" if args.model == "tiny" else f"docs/benchmarks-{args.model}"
    out = args.out or ROOT / default_out
    tmp = Path(tempfile.mkdtemp(prefix="pixy-bench-"))
    bench = Bench(args, tmp)
    result = None
    try:
        result = bench.run()
    finally:
        bench.close()
        drop_databases()
        if result is None:
            print(f"benchmark failed; server logs kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    json_path, md_path = bench_report.write(result, out)
    print(md_path.read_text(encoding="utf-8"))
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
