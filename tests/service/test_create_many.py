"""Costly or abandoned work: n images stored all or none, the cost ceiling, and requests whose client left."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from core.exceptions import GenerationFailed, InvalidInput, RequestAbandoned
from tests.service.image_path import ImagePath

WAIT = 5


@pytest.fixture
def service(image_path) -> ImagePath:
    return image_path(max_queue=8, timeout=WAIT)


def test_n_images_are_stored_in_one_write(service, repository):
    details = service.create_many({"prompt": "four boats", "seed": 7}, n=4)
    assert [d.seed for d in details] == [7, 8, 9, 10]
    assert repository.calls == [("add_many", [d.guid for d in details])]


def test_when_the_third_of_four_fails_nothing_is_stored(service, generator, repository):
    generator.failures += [None, None, GenerationFailed()]
    with pytest.raises(GenerationFailed):
        service.create_many({"prompt": "four boats"}, n=4)
    assert repository.calls == [] and repository.images == {}
    assert service.queue.submit(service.resolve({"prompt": "next"})).result(timeout=WAIT)


@pytest.mark.parametrize(("n", "steps", "side", "allowed"), [(1, 20, 512, True), (2, 20, 512, False)])
def test_steps_times_megapixels_times_n_over_the_ceiling_is_refused_naming_cost(
    service, generator, repository, n, steps, side, allowed
):
    service.resolver.limits = replace(service.resolver.limits, max_cost=6.0)
    body = {"prompt": "a wide field", "steps": steps, "width": side, "height": side}
    if allowed:
        assert len(service.create_many(body, n=n)) == n
        return
    with pytest.raises(InvalidInput) as caught:
        service.create_many(body, n=n)
    assert caught.value.field == "cost" and "PIXY_MAX_COST" in caught.value.message
    assert generator.batches == [] and repository.calls == []


def wait_for(condition) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.01)


def test_an_abandoned_queued_request_never_runs_and_frees_its_place(service, generator, repository):
    generator.gate.clear()
    gone = threading.Event()
    with ThreadPoolExecutor(2) as pool:
        running = pool.submit(service.create, {"prompt": "first"})
        assert generator.started.wait(WAIT)
        abandoned = pool.submit(service.create, {"prompt": "abandoned"}, abandoned=gone)
        wait_for(lambda: service.queue.queue_depth == 1)
        gone.set()
        assert isinstance(abandoned.exception(timeout=WAIT), RequestAbandoned)
        assert service.queue.queue_depth == 0
        generator.gate.set()
        assert running.result(timeout=WAIT).prompt == "first"
    assert [[p.prompt for p in batch] for batch in generator.batches] == [["first"]]
    assert [image.prompt for image in repository.images.values()] == ["first"]


def test_a_request_abandoned_while_running_is_discarded_not_stored(service, generator, repository):
    generator.gate.clear()
    gone = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        abandoned = pool.submit(service.create, {"prompt": "abandoned"}, abandoned=gone)
        assert generator.started.wait(WAIT)
        gone.set()
        generator.gate.set()
        assert isinstance(abandoned.exception(timeout=WAIT), RequestAbandoned)
    assert len(generator.batches) == 1 and repository.calls == []
