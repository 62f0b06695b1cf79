"""Several models behind one batch queue: batches stay within a model, keep to the one on the device, and no
request waits behind more than ``switch_after`` batches of other models. The registry evicts the least recent."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.exceptions import InvalidInput, ModelNotReady
from core.models import GenerationParams
from service.generation.batching import BatchQueue
from service.generation.models import ModelEntry, Models
from tests.fakes import PROFILE, FakeGenerator


def params(model: str, seed: int = 0) -> GenerationParams:
    return GenerationParams(
        prompt="p", negative_prompt="", seed=seed, steps=1, guidance_scale=1.0, width=64, height=64, model=model
    )


def run_in_order(generator: FakeGenerator, submitted: list[str], **options) -> list[str]:
    """Hold the queue on a first batch of model "a", submit the rest, release: the models in the order they ran."""
    generator.gate.clear()
    queue = BatchQueue(generator, max_queue=64, max_batch=1, **options).start()
    try:
        futures = [queue.submit(params("a"))]
        assert generator.started.wait(5)
        futures += [queue.submit(params(model, seed)) for seed, model in enumerate(submitted, 1)]
        generator.gate.set()
        for future in futures:
            future.result(timeout=5)
    finally:
        queue.stop(timeout=5)
    return [batch[0].model for batch in generator.batches[1:]]


def test_the_queue_keeps_to_the_model_on_the_device(generator):
    assert run_in_order(generator, ["b", "a", "b", "a"], switch_after=4) == ["a", "a", "b", "b"]


def test_no_request_waits_behind_more_than_switch_after_batches_of_another_model(generator):
    ran = run_in_order(generator, ["b", *["a"] * 6], switch_after=2)
    assert ran.index("b") == 2


def test_without_stickiness_requests_run_in_arrival_order(generator):
    assert run_in_order(generator, ["b", "a", "b", "a"], switch_after=0) == ["b", "a", "b", "a"]


def test_a_batch_holds_one_model_only(generator):
    generator.gate.clear()
    queue = BatchQueue(generator, max_queue=8, max_batch=4).start()
    try:
        futures = [queue.submit(params("a"))]
        assert generator.started.wait(5)
        futures += [queue.submit(params(m, i)) for i, m in enumerate("abab", 1)]
        generator.gate.set()
        for future in futures:
            future.result(timeout=5)
    finally:
        queue.stop(timeout=5)
    assert [{p.model for p in batch} for batch in generator.batches[1:]] == [{"a"}, {"b"}]


class Parkable(FakeGenerator):
    def __init__(self, model: str, moves: list[str]) -> None:
        super().__init__()
        self.info = replace(self.info, model=model)
        self.moves = moves

    def to_cpu(self) -> None:
        self.moves.append(f"park {self.info.model}")

    def to_device(self) -> None:
        self.moves.append(f"back {self.info.model}")

    def release(self) -> None:
        self.moves.append(f"drop {self.info.model}")


def registry(*, max_loaded: int, park: bool = True, fail: set[str] = frozenset()):
    moves: list[str] = []

    def load(entry: ModelEntry):
        if entry.id in fail:
            raise OSError("corrupt weights")
        moves.append(f"load {entry.id}")
        return Parkable(entry.id, moves)

    entries = [ModelEntry(m, m, "Fake", PROFILE, "Fake") for m in ("b", "c")]
    models = Models(Parkable("a", moves), entries, load=load, max_loaded=max_loaded, park=park)
    return models, moves


def generate(models: Models, model: str) -> str:
    [made] = models.generate([params(model)])
    return made.info.model


def test_the_least_recently_used_model_is_parked_and_comes_back_without_a_load():
    models, moves = registry(max_loaded=2)
    assert [generate(models, m) for m in "abca"] == list("abca")
    assert moves == ["load b", "park a", "load c", "park b", "back a"]
    assert [entry["loaded"] for entry in models.describe()] == [True, False, True]


def test_dropping_instead_of_parking_loads_again():
    models, moves = registry(max_loaded=1, park=False)
    for m in "aba":
        generate(models, m)
    assert moves == ["drop a", "load b", "drop b", "load a"]


def test_a_model_that_fails_to_load_is_unavailable_saying_why_and_the_others_go_on():
    models, _ = registry(max_loaded=1, fail={"b"})
    with pytest.raises(ModelNotReady, match="'b' is unavailable: it failed to load"):
        generate(models, "b")
    assert models.describe()[1]["reason"] == "it failed to load (OSError)"
    with pytest.raises(ModelNotReady):
        models.choose("b")
    assert generate(models, "a") == "a"


def test_choose_names_the_default_for_openai_names_and_refuses_unknown_ids():
    models, _ = registry(max_loaded=1)
    assert models.choose(None).model == models.choose("dall-e-2").model == "a"
    assert models.choose("c").model == "c"
    with pytest.raises(InvalidInput, match="models: a, b, c"):
        models.choose("z")
