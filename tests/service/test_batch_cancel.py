"""Cancelling one member of a micro-batch leaves the others' seeds and pixels exactly as they were."""

from __future__ import annotations

import threading

from core.models import GenerationParams
from service.generation.batching import BatchQueue, Hooks


def params(seed: int) -> GenerationParams:
    return GenerationParams(
        prompt="a quiet harbour", negative_prompt="", seed=seed, steps=4, guidance_scale=7.5, width=64, height=64
    )


def run_batch(generator, *, cancel_second_after_step: int | None) -> list:
    """Two generations that share one pipeline call; the second may be cancelled midway."""
    worker = BatchQueue(generator, max_queue=4, max_batch=2)
    cancel = threading.Event()

    def on_step(step: int, steps: int) -> None:
        if cancel_second_after_step is not None and step == cancel_second_after_step:
            cancel.set()

    first = worker.submit(params(11))
    second = worker.submit(params(12), Hooks(on_step=on_step, cancel=cancel))
    worker.start()  # both are queued before the worker takes its first batch
    try:
        return [first.result(timeout=60), second.result(timeout=60)]
    finally:
        worker.stop(timeout=10)


def test_cancelling_one_member_leaves_the_others_pixels_and_seed_unchanged(tiny_generator):
    untouched, _ = run_batch(tiny_generator, cancel_second_after_step=None)
    kept, _ = run_batch(tiny_generator, cancel_second_after_step=1)
    assert kept.params.seed == untouched.params.seed == 11
    assert kept.image.tobytes() == untouched.image.tobytes()
