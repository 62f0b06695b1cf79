"""The measurements: the raw pipeline against the service over HTTP, the read path, the list, memory.

Absolute times drift on a shared machine, so every figure that matters is a ratio of two measurements
taken next to each other: in each round the steps run in an order that rotates by one, the ratio of
each round is taken, then the median of those.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import httpx

from bench import DATABASES, PROMPT, ceiling, diagnose, live, models, reads, scale, thumbnails
from bench.load import median, merge_loads, run_load
from bench.reads import rotated
from bench.server import Server, start
from core.models import GenerationParams
from core.settings import Settings
from data.connection import open_connection
from service.bootstrap import Container, bootstrap


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
        self.servers: dict[str, Server] = {}
        self.containers: list[Container] = []
        self.result: dict = {"model": args.model, "rounds": args.rounds, "images_per_measurement": args.images}
        self.guids: list[str] = []
        self.errors = 0

    def serve(self, name: str, argv: list[str] | None = None, ready_path: str = "/health", **env: str) -> Server:
        env = {"PIXY_IMAGES_DIR": str(self.tmp / f"images-{name}"), "PIXY_LOG_LEVEL": "INFO"} | env
        self.servers[name] = start(log=self.tmp / f"{name}.log", env=env, argv=argv, ready_path=ready_path, timeout=300)
        return self.servers[name]

    def load(self, name: str, concurrency: int, request, **how):
        load = run_load(self.servers[name].url, concurrency, request, **how)
        self.errors += load.errors
        return load

    # -- generation ---------------------------------------------------------------------------------
    def params(self, seed: int) -> GenerationParams:
        p = self.main.generator.info.profile
        return GenerationParams(
            prompt=PROMPT, negative_prompt="", seed=seed, steps=p.steps,
            guidance_scale=p.guidance_scale, width=p.width, height=p.height,
        )  # fmt: skip

    def raw(self, seeds: list[int], batch: int = 1) -> float:
        started = time.perf_counter()
        for i in range(0, len(seeds), batch):
            self.main.generator.generate([self.params(s) for s in seeds[i : i + batch]])
        return len(seeds) / (time.perf_counter() - started)

    def service(self, name: str, concurrency: int, seeds: list[int]):
        """The ``Load`` of ``len(seeds)`` generations; remembers the main server's guids."""
        post = lambda client, i: client.post("/image/", json={"prompt": PROMPT, "seed": seeds[i]})  # noqa: E731
        load = self.load(name, concurrency, post, count=len(seeds), keep_bodies=True)
        if name == "main":
            self.guids += [b["guid"] for b in load.bodies if b]
        return load

    def throughput(self) -> None:
        steps = {
            "raw": lambda s: self.raw(s),
            "raw_b4": lambda s: self.raw(s, batch=4),
            "c1": lambda s: self.service("main", 1, s),
            "c4": lambda s: self.service("main", 4, s).rate,
            "c8": lambda s: self.service("main", 8, s).rate,
            "c8_batch4": lambda s: self.service("batch", 8, s).rate,
        }
        runs: dict[str, list] = {name: [] for name in steps}
        for r in range(self.args.rounds):
            seeds = [r * 1000 + i for i in range(self.args.images)]
            for name in rotated(list(steps), r):
                runs[name].append(steps[name](seeds))
                time.sleep(0.2)
            print(f"  round {r + 1}: raw {runs['raw'][-1]:.1f}/s, c1 {runs['c1'][-1].rate:.1f}/s", flush=True)
        c1_loads, runs["c1"] = runs["c1"], [load.rate for load in runs["c1"]]

        def ratio(a: str, b: str) -> float:
            return median([x / y for x, y in zip(runs[a], runs[b], strict=True)])

        res = self.result
        res["raw_images_per_s"] = median(runs["raw"])
        res["raw_batch4_images_per_s"] = median(runs["raw_b4"])
        res["service_images_per_s"] = {c: median(runs[c]) for c in ("c1", "c4", "c8")}
        res["batch4_service_images_per_s_c8"] = median(runs["c8_batch4"])
        for c in ("c1", "c4", "c8"):
            res[f"service_over_raw_{c}"] = ratio(c, "raw")
        res["service_over_raw_c1_rounds"] = [round(s / r, 3) for s, r in zip(runs["c1"], runs["raw"], strict=True)]
        res["batching_gain_c8"] = ratio("c8_batch4", "c8")
        res["raw_batch4_over_raw"] = ratio("raw_b4", "raw")
        res["c1_request_split"] = diagnose.request_split(merge_loads(c1_loads), self.servers["main"])
        res["c1_request_split"]["raw_pipeline_ms"] = 1000 / res["raw_images_per_s"]

    # -- the run ------------------------------------------------------------------------------------
    def start(self) -> None:
        """The three servers, then the same model in-process through ``bootstrap``."""
        common = {"PIXY_MODEL": self.args.model, "PIXY_STRICT_MODEL": "1", "PIXY_MAX_QUEUE": "16"}
        common |= {"PIXY_API_KEYS": "", "PIXY_CORS_ORIGINS": "", "PIXY_STORAGE": "disk"}
        self.serve("main", DB_NAME=DATABASES["main"], PIXY_MAX_BATCH="1", **common)
        wait = str(self.args.batch_wait_ms)
        self.serve("batch", DB_NAME=DATABASES["batch"], PIXY_MAX_BATCH="4", PIXY_BATCH_WAIT_MS=wait, **common)
        self.serve("list", DB_NAME=DATABASES["list"], **common | {"PIXY_STORAGE": "mysql"})
        settings = Settings(
            db_name=DATABASES["main"], pixy_model=self.args.model, pixy_strict_model=True,
            pixy_storage="disk", pixy_images_dir=self.tmp / "images-main",
        )  # fmt: skip
        self.main = bootstrap(settings, prepare_database=False)
        self.containers.append(self.main)
        info = self.main.generator.info
        for name in ("main", "batch", "list"):
            ready = httpx.get(self.servers[name].url + "/ready", timeout=30).json()
            assert ready["model"] == info.model and not ready["fallback"], (name, ready)

    def run(self) -> dict:
        import torch  # the harness reads torch's thread count; the service keeps torch to its generator

        started = time.perf_counter()
        self.start()
        info = self.main.generator.info
        self.result |= {
            "device": info.device, "dtype": info.dtype, "model_loaded": info.model,
            "steps": info.profile.steps, "guidance_scale": info.profile.guidance_scale,
            "width": info.profile.width, "height": info.profile.height, "prompt": PROMPT,
            "batch_wait_ms": self.args.batch_wait_ms, "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "loadavg_start": os.getloadavg()[0],
        }  # fmt: skip
        print(f"model {info.model} on {info.device} ({info.dtype}), profile {info.profile}", flush=True)
        self.raw(list(range(4)))  # warm-up, both sides
        self.raw(list(range(4)), batch=4)
        warm = self.service("main", 1, list(range(4)))
        assert warm.bodies[0]["steps"] == info.profile.steps and warm.bodies[0]["width"] == info.profile.width
        self.service("main", 8, list(range(8)))
        self.service("batch", 8, list(range(8)))
        for title, step in (
            ("throughput: raw pipeline vs service (c1/c4/c8), batching", self.throughput),
            ("read path: content vs static file", lambda: reads.content(self)),
            (f"list: {self.args.rows:,} rows", lambda: reads.listing(self)),
            (f"memory: {self.args.memory_requests} requests", lambda: reads.memory(self)),
            (f"thumbnails: {self.args.thumb_images} images at 512x512", lambda: thumbnails.thumbnails(self)),
            ("live events: progress latency and cancel", lambda: live.live(self)),
            *self.models_step(),
            *self.scale_step(),
            *self.ceiling_step(),
        ):
            print(title, flush=True)
            step()
        image = self.main.generator.generate([self.params(7)])[0].image
        self.result["store_costs"] = diagnose.store_costs(self.main, image)
        self.result["non_2xx_responses"] = self.errors
        self.result["loadavg_end"] = os.getloadavg()[0]
        self.result["duration_s"] = time.perf_counter() - started
        return self.result

    def scale_step(self) -> list:
        """The distributed mode's scale-out, on sleeping workers: model-independent, so with the tiny bench only."""
        if self.args.model != "tiny":
            return []
        title = f"scale-out: {self.args.scale_workers} workers sleeping 200 ms an image, and enqueue-to-start"
        return [(title, lambda: scale.scale(self.args, self.tmp, self.result))]

    def ceiling_step(self) -> list:
        """The service with a generator that costs nothing: model-independent, so with the tiny bench only."""
        if self.args.model != "tiny":
            return []
        title = "ceiling: a stand-in generator, POST /image/ and POST /jobs at c16, distributed with one worker"
        return [(title, lambda: ceiling.ceiling(self))]

    def models_step(self) -> list:
        """Several models on one box: the two tiny families, so with the tiny bench only."""
        if self.args.model != "tiny":
            return []
        return [("models: a switch's cost at c1, alternating models at c8", lambda: models.models(self))]

    def run_only(self) -> dict:
        """``--only scale``, ``--only ceiling`` or ``--only models``: that section alone (no model loaded)."""
        started = time.perf_counter()
        self.result |= {"only": self.args.only, "cpu_count": os.cpu_count(), "loadavg_start": os.getloadavg()[0]}
        sections = {"scale": self.scale_step, "ceiling": self.ceiling_step, "models": self.models_step}
        for title, step in sections[self.args.only]():
            print(title, flush=True)
            step()
        self.result["loadavg_end"] = os.getloadavg()[0]
        self.result["duration_s"] = time.perf_counter() - started
        return self.result

    def close(self) -> None:
        for server in self.servers.values():
            server.stop()
        for container in self.containers:
            container.close()
