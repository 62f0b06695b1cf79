"""Samplers on the tiny pipeline: every A1111 name runs, is reproducible, and leaves the model's own alone."""

from __future__ import annotations

import pytest

from core.models import GenerationParams
from core.samplers import SAMPLERS
from service.generation.batching import BatchQueue


def params(seed: int = 7, **choice) -> GenerationParams:
    return GenerationParams(
        prompt="a kite", negative_prompt="", seed=seed, steps=3, guidance_scale=2.0, width=64, height=64, **choice
    )


def pixels(generator, batch: list[GenerationParams]) -> list[bytes]:
    return [each.image.tobytes() for each in generator.generate(batch)]


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_every_sampler_runs_and_repeats_its_pixels_for_a_seed(tiny_generator, sampler):
    first = pixels(tiny_generator, [params(sampler=sampler)])
    assert pixels(tiny_generator, [params(sampler=sampler)]) == first


def test_a_different_sampler_changes_the_pixels(tiny_generator):
    own, ddim = pixels(tiny_generator, [params()]), pixels(tiny_generator, [params(sampler="DDIM")])
    assert own != ddim


def test_a_schedule_type_changes_the_pixels(tiny_generator):
    plain = pixels(tiny_generator, [params(sampler="DPM++ 2M")])
    assert pixels(tiny_generator, [params(sampler="DPM++ 2M", scheduler="karras")]) != plain


def test_a_sampler_does_not_disturb_the_next_batch(tiny_generator):
    own = tiny_generator.pipe.scheduler
    before = pixels(tiny_generator, [params()])
    pixels(tiny_generator, [params(sampler="Euler a"), params(seed=8, sampler="Euler a")])
    assert tiny_generator.pipe.scheduler is own
    assert pixels(tiny_generator, [params()]) == before


def test_an_sde_sampler_gives_each_image_of_a_batch_its_own_seed(tiny_generator):
    [alone] = pixels(tiny_generator, [params(seed=3, sampler="DPM++ SDE")])
    batched = pixels(tiny_generator, [params(seed=9, sampler="DPM++ SDE"), params(seed=3, sampler="DPM++ SDE")])
    assert batched[1] == alone


def test_batches_never_mix_samplers(generator):
    generator.gate.clear()
    queue = BatchQueue(generator, max_queue=8, max_batch=4).start()
    try:
        blocker = queue.submit(params(seed=0))
        assert generator.started.wait(5)
        waiting = [queue.submit(params(seed=i, sampler=s)) for i, s in enumerate(["DDIM", "LMS", "DDIM", None], 1)]
        generator.gate.set()
        for future in [blocker, *waiting]:
            future.result(timeout=5)
    finally:
        queue.stop(timeout=5)
    samplers = [{p.sampler for p in batch} for batch in generator.batches[1:]]
    assert samplers == [{"DDIM"}, {"LMS"}, {None}]
    assert [len(batch) for batch in generator.batches[1:]] == [2, 1, 1]
