"""The several-models section of the report: its target, and what a switch and a mixed load cost."""

from __future__ import annotations

TARGETS = {
    "mixed_models_over_single": (
        ">=",
        0.8,
        "",
        "c8 images/s of requests alternating tiny/tiny-xl over the same requests each sent to one model",
    ),
}


def _f(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}"


def section(r: dict) -> list[str]:
    if "model_switch_ms" not in r:
        return []
    rates = r["models_images_per_s_c8"]
    return [
        "## Several models on one box",
        "",
        f"One server with `PIXY_MODEL=tiny` and `PIXY_MODELS=tiny-xl` and the defaults ({r['models_batch_default']}); "
        "each request takes its model's own defaults (tiny: 4 steps, tiny-xl: 3, both 128x128)."
        + (f" Measured apart from the rest of this report: {r['models_run']}." if r.get("models_run") else ""),
        "",
        "| what | measured |",
        "| --- | --- |",
        f"| `model_switch_ms`: p50 extra time of a c1 request whose model is parked in CPU memory (the other parked "
        f"to make room) over one whose model is on the device | {_f(r['model_switch_ms'])} ms "
        f"({_f(r['model_alternating_p50_ms'])} against {_f(r['model_same_p50_ms'])} ms) |",
        f"| `model_first_load_ms`: the first request for tiny-xl (loaded from disk, and run for the first time) "
        f"over it once loaded (once per process) | {_f(r['model_first_load_ms'])} ms |",
        f"| c8 images/s: tiny alone, tiny-xl alone, alternating | {_f(rates['tiny'], 2)}, {_f(rates['tiny-xl'], 2)}, "
        f"{_f(rates['mixed'], 2)} |",
        f"| `mixed_models_over_single` (per round {r['mixed_models_over_single_rounds']}) | "
        f"{_f(r['mixed_models_over_single'], 3)} |",
        f"| alternating over tiny alone | {_f(r['mixed_models_over_tiny'], 3)} |",
        "",
        "At c1 nothing else waits, so every alternating request pays a park and a return. At c8 the batch queue "
        "keeps to the model on the device while it has requests for it, but with eight clients alternating only "
        "about four of each model wait at a time: a batch of four drains its model, and the next batch switches. "
        "So the mix should pay about one switch per batch, plus batches of one model that are not full (reasoned "
        "from the scheduler; switches were not counted); keeping to the "
        "loaded model saves switches only where more of its requests wait than a batch holds. Where memory allows, "
        "`PIXY_MAX_LOADED_MODELS=2` keeps both on the device and removes the park and return (not measured here).",
        "",
    ]
