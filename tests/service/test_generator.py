"""The diffusers generator's contract: faults become ImageExceptions and never keep the lock."""

from __future__ import annotations

import pytest
import torch

from core.exceptions import GenerationFailed, GeneratorOutOfMemory
from core.models import GenerationParams
from service.generation.pipeline import DiffusersGenerator


class ExplodingPipe:
    """The tiny pipeline with its call replaced by a fault."""

    def __init__(self, pipe, error: BaseException) -> None:
        self._pipe, self._error = pipe, error

    def __getattr__(self, name):
        return getattr(self._pipe, name)

    def __call__(self, **kwargs):
        raise self._error


def params(seed: int = 1) -> GenerationParams:
    return GenerationParams(prompt="p", negative_prompt="", seed=seed, steps=1, guidance_scale=1.0, width=64, height=64)


def make(tiny_generator, error: BaseException) -> DiffusersGenerator:
    return DiffusersGenerator(
        ExplodingPipe(tiny_generator.pipe, error), model="tiny", device="cpu", fallback=False, compiled=False
    )


@pytest.mark.parametrize(
    ("error", "expected", "status"),
    [
        (RuntimeError("boom in the UNet"), GenerationFailed, 500),
        (torch.cuda.OutOfMemoryError("CUDA out of memory"), GeneratorOutOfMemory, 503),
    ],
)
def test_pipeline_faults_become_image_exceptions_and_release_the_lock(tiny_generator, error, expected, status):
    generator = make(tiny_generator, error)
    with pytest.raises(expected) as raised:
        generator.generate([params()])
    assert raised.value.status_code == status
    assert "boom" not in raised.value.message and "CUDA" not in raised.value.message
    assert generator._lock.acquire(blocking=False)
    generator._lock.release()


def test_a_batch_gives_each_image_its_own_seed(tiny_generator):
    alone = [tiny_generator.generate([params(seed)])[0].image.tobytes() for seed in (5, 6)]
    batched = tiny_generator.generate([params(5), params(6)])
    assert [r.params.seed for r in batched] == [5, 6]
    assert alone[0] != alone[1]
    for single, result in zip(alone, batched, strict=True):
        diff = sum(abs(a - b) for a, b in zip(single, result.image.tobytes(), strict=True)) / len(single)
        assert diff < 1.0


def test_missing_weights_fall_back_to_tiny_loudly(tmp_path, caplog):
    from service.generation.pipeline import load_generator
    from tests.conftest import make_settings

    generator = load_generator(make_settings(tmp_path, pixy_model="nobody/absent-model"))
    assert (generator.info.model, generator.info.fallback) == ("tiny", True)
    assert "FALLING BACK TO THE TINY RANDOM MODEL" in caplog.text


def test_strict_model_refuses_the_fallback(tmp_path):
    from core.exceptions import ModelUnavailable
    from service.generation.pipeline import load_generator
    from tests.conftest import make_settings

    with pytest.raises(ModelUnavailable):
        load_generator(make_settings(tmp_path, pixy_model="nobody/absent-model", pixy_strict_model=True))


def test_running_out_of_gpu_memory_frees_the_cuda_cache(tiny_generator, monkeypatch):
    freed: list[bool] = []
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: freed.append(True))
    generator = make(tiny_generator, torch.cuda.OutOfMemoryError("CUDA out of memory"))
    with pytest.raises(GeneratorOutOfMemory):
        generator.generate([params()])
    assert freed == [True]


def test_other_faults_leave_the_cuda_cache_alone(tiny_generator, monkeypatch):
    freed: list[bool] = []
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: freed.append(True))
    with pytest.raises(GenerationFailed):
        make(tiny_generator, RuntimeError("boom")).generate([params()])
    assert freed == []


def test_sd_turbo_defaults_to_one_step_without_guidance_at_its_native_size():
    from service.generation.profiles import profile_for

    profile = profile_for(model="stabilityai/sd-turbo", pipeline_class="StableDiffusionPipeline", native_size=512)
    assert (profile.steps, profile.guidance_scale) == (1, 0.0)
    assert (profile.width, profile.height) == (512, 512)


def test_downloaded_weights_are_found_under_models_owner_dash_dash_name(tmp_path):
    from service.generation.pipeline.weights import find_local

    folder = tmp_path / "owner--name"
    folder.mkdir()
    (folder / "model_index.json").write_text("{}")
    assert find_local("owner/name", tmp_path) == folder


def test_a_hub_id_with_no_local_folder_is_passed_on_as_it_is(tmp_path):
    from service.generation.pipeline.weights import find_local

    assert find_local("owner/name", tmp_path) is None
