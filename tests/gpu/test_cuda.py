"""The CUDA path: half precision, SDPA, compile with warm-up. Skipped without a GPU."""

from __future__ import annotations

import pytest
import torch

from core.models import GenerationParams
from tests.conftest import make_settings

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here; run on the GPU box"),
]


def params(seed: int) -> GenerationParams:
    return GenerationParams(
        prompt="p", negative_prompt="", seed=seed, steps=4, guidance_scale=7.5, width=128, height=128
    )


@pytest.fixture(scope="module")
def cuda_generator(tmp_path_factory):
    from service.generation.pipeline import load_generator

    return load_generator(make_settings(tmp_path_factory.mktemp("gpu"), pixy_device="auto", pixy_strict_model=True))


def test_auto_picks_cuda_in_half_precision(cuda_generator):
    assert (cuda_generator.info.device, cuda_generator.info.dtype) == ("cuda", "float16")


def test_same_seed_gives_identical_pixels_on_cuda(cuda_generator):
    first, second = (cuda_generator.generate([params(3)])[0].image.tobytes() for _ in range(2))
    assert first == second


def test_out_of_memory_frees_the_cache_and_the_next_generation_works(cuda_generator):
    from core.exceptions import GeneratorOutOfMemory

    huge = GenerationParams(
        prompt="p", negative_prompt="", seed=1, steps=1, guidance_scale=7.5, width=16384, height=16384
    )
    with pytest.raises(GeneratorOutOfMemory):
        cuda_generator.generate([huge])
    assert cuda_generator.generate([params(1)])[0].image.size == (128, 128)


def test_compile_warms_up_at_load(tmp_path):
    from service.generation.pipeline import load_generator

    generator = load_generator(make_settings(tmp_path, pixy_compile=True, pixy_strict_model=True))
    assert generator.info.compiled
    assert generator.generate([params(2)])[0].image.size == (128, 128)
