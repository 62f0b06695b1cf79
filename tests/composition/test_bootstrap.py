"""The composition root wires settings into every part, as the web app and scripts will use it."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from PIL import Image

from core.exceptions import DatabaseUnavailable, GeneratorBusy, InvalidInput
from service.bootstrap import bootstrap
from tests.fakes import FakeGenerator


@pytest.fixture
def built(settings):
    containers = []

    def build(generator=None, **overrides):
        container = bootstrap(settings.model_copy(update=overrides), generator=generator or FakeGenerator())
        containers.append(container)
        return container

    yield build
    for container in containers:
        container.close()


def test_the_service_stores_what_the_generator_made_in_the_database(built):
    container = built()
    [detail] = container.jobs.run({"prompt": "a cat", "seed": 3})
    assert container.repository.get(detail.guid) == detail
    png = Image.open(io.BytesIO(container.images.content(detail.guid).read()))
    assert png.format == "PNG"
    assert container.generator.batches[0][0].seed == 3


def test_settings_reach_the_batch_queue_and_the_generation(built):
    container = built(pixy_generation_timeout=12.5, pixy_max_queue=3, pixy_batch_wait_ms=7, pixy_max_batch=2)
    generation = container.jobs.launcher.runner.generation
    assert generation.timeout == 12.5
    assert generation.encoder.name == "fpng"  # the default level asks for speed
    assert (container.queue.max_queue, container.queue.max_batch, container.queue.batch_wait) == (3, 2, 0.007)


@pytest.mark.parametrize(("device", "expected"), [("cpu", 4), ("cuda", 1)])
def test_batching_defaults_to_four_on_the_cpu_and_one_on_cuda(built, device, expected):
    generator = FakeGenerator()
    generator.info = replace(generator.info, device=device)
    assert built(generator, pixy_max_batch=None).queue.max_batch == expected


@pytest.mark.parametrize(("device", "setting", "expected"), [("cpu", None, 60), ("cuda", None, 250), ("cpu", 7.5, 7.5)])
def test_the_cost_ceiling_defaults_by_device_unless_set(built, device, setting, expected):
    generator = FakeGenerator()
    generator.info = replace(generator.info, device=device)
    assert built(generator, pixy_max_cost=setting).jobs.intake.resolver.limits.max_cost == expected


def test_close_stops_the_batch_queue_and_empties_the_pool(built):
    container = built()
    container.images.count()
    assert container.pool._idle
    container.close()
    assert container.pool._idle == []
    with pytest.raises(GeneratorBusy):
        container.queue.submit(container.jobs.intake.resolver.resolve({"prompt": "late"}))


def test_a_database_down_at_startup_still_boots_and_answers_503(built):
    container = built(db_port=1, db_connect_timeout=1)
    with pytest.raises(DatabaseUnavailable):
        container.images.count()


@pytest.mark.parametrize("n", [0, 5])
def test_the_service_refuses_n_out_of_range_whatever_the_route_checked(built, n):
    container = built()
    with pytest.raises(InvalidInput) as refused:
        container.jobs.run({"prompt": "too many"}, n=n)
    assert refused.value.field == "n"
    assert container.jobs.list() == []


def test_the_service_makes_four_images_at_the_limit(built):
    container = built()
    assert len(container.jobs.run({"prompt": "four", "steps": 1}, n=4)) == 4
