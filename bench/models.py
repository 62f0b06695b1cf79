"""Several models on one box (issue 19): what a switch costs a request, and throughput when requests alternate.

One server serves ``tiny`` (its PIXY_MODEL) and ``tiny-xl`` (PIXY_MODELS) with the defaults: one pipeline on the
device (PIXY_MAX_LOADED_MODELS=1, the other parked in CPU memory), PIXY_MAX_BATCH 4 on the CPU, and
PIXY_MODEL_SWITCH_AFTER 4. Each request takes its model's own defaults.

- ``model_first_load_ms``: the first request for tiny-xl (loaded from disk, its first run) less the p50 once loaded.
- ``model_switch_ms``: at c1, the p50 latency of requests that alternate models (each brings its model back from
  CPU memory and parks the other) less the p50 of requests that repeat the model on the device, both models pooled.
- ``mixed_models_over_single``: at c8, the images/s of N requests alternating between the two models over the
  images/s of the same N requests each sent to one model: N/2 at tiny's rate alone plus N/2 at tiny-xl's (what the
  mix would do if a switch cost nothing). Median of per-round ratios; the order of the three rotates each round.
"""

from __future__ import annotations

import time

from bench import DATABASES, PROMPT
from bench.load import median
from bench.reads import rotated

MODELS = ("tiny", "tiny-xl")


def _post(models: list[str], seed0: int):
    def post(client, i: int):
        body = {"prompt": PROMPT, "seed": seed0 + i, "model": models[i % len(models)]}
        return client.post("/image/", json=body)

    return post


def _latencies(bench, models: list[str], count: int, seed0: int) -> list[float]:
    return bench.load("models", 1, _post(models, seed0), count=count).latencies_ms


def switching(bench, result: dict) -> None:
    count = min(max(bench.args.images, 4), 24)  # c1 latencies: two dozen a run are plenty for a p50
    first_load = _latencies(bench, ["tiny-xl"], 1, 0)[0]
    loaded_xl = _latencies(bench, ["tiny-xl"], count, 100)
    same, alternating = [], []
    for r in range(bench.args.rounds):
        for name in rotated(["same", "alternating"], r):
            seed0 = 1000 * (r + 1)
            if name == "same":  # the first of each run may bring its model on: left out
                for model in MODELS:
                    same += _latencies(bench, [model], count + 1, seed0)[1:]
            else:
                alternating += _latencies(bench, list(MODELS), count, seed0)
    result["model_first_load_ms"] = first_load - median(loaded_xl)
    result["model_switch_ms"] = median(alternating) - median(same)
    result["model_same_p50_ms"] = median(same)
    result["model_alternating_p50_ms"] = median(alternating)


def mixing(bench, result: dict) -> None:
    count = bench.args.images
    steps = {
        "tiny": lambda seed0: bench.load("models", 8, _post(["tiny"], seed0), count=count).rate,
        "tiny-xl": lambda seed0: bench.load("models", 8, _post(["tiny-xl"], seed0), count=count).rate,
        "mixed": lambda seed0: bench.load("models", 8, _post(list(MODELS), seed0), count=count).rate,
    }
    runs: dict[str, list[float]] = {name: [] for name in steps}
    for r in range(bench.args.rounds):
        for name in rotated(list(steps), r):
            runs[name].append(steps[name](10_000 * (r + 1)))
            time.sleep(0.2)
    # N/2 images at each model's own rate: N / (N/2/a + N/2/b) images/s.
    single = [2 / (1 / a + 1 / b) for a, b in zip(runs["tiny"], runs["tiny-xl"], strict=True)]
    result["mixed_models_over_single"] = median([m / s for m, s in zip(runs["mixed"], single, strict=True)])
    result["mixed_models_over_single_rounds"] = [round(m / s, 3) for m, s in zip(runs["mixed"], single, strict=True)]
    result["mixed_models_over_tiny"] = median([m / t for m, t in zip(runs["mixed"], runs["tiny"], strict=True)])
    result["models_images_per_s_c8"] = {name: median(rates) for name, rates in runs.items()}


def models(bench) -> None:
    """Its own server (both models, the defaults), then the switch cost at c1 and the mixed throughput at c8."""
    env = {"PIXY_MODEL": "tiny", "PIXY_MODELS": "tiny-xl", "PIXY_STRICT_MODEL": "1", "PIXY_MAX_QUEUE": "16"}
    env |= {"PIXY_API_KEYS": "", "PIXY_CORS_ORIGINS": "", "PIXY_STORAGE": "disk", "DB_NAME": DATABASES["models"]}
    bench.serve("models", **env)
    result = bench.result
    _latencies(bench, ["tiny"], 4, 0)  # warm
    switching(bench, result)
    mixing(bench, result)
    result["models_batch_default"] = "PIXY_MAX_BATCH 4 (CPU), PIXY_MAX_LOADED_MODELS 1, PIXY_MODEL_SWITCH_AFTER 4"
