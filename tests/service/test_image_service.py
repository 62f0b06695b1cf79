"""The image service over a fake generator and a fake repository."""

from __future__ import annotations

import hashlib
import io
import json
import time
import uuid

import numpy as np
import pytest
from PIL import Image

from core.exceptions import GenerationFailed, ImageNotFound, InvalidInput
from core.models import PageQuery
from tests.service.image_path import ImagePath

NOT_UUIDS = ["nope", "", "1234", "../../etc/passwd", "' OR 1=1 --", "00000000-0000-4000-8000-00000000000g"]
LOOKUPS = ["get", "content", "delete"]


@pytest.fixture
def service(image_path) -> ImagePath:
    return image_path(max_queue=4, timeout=5)


def png_of(service: ImagePath, guid: str) -> Image.Image:
    return Image.open(io.BytesIO(service.images.content(guid).read()))


def test_create_stores_a_png_recording_its_parameters(service, render):
    detail = service.create({"prompt": "a lighthouse at dusk", "seed": 42, "steps": 3})
    image = png_of(service, detail.guid)
    assert image.format == "PNG"
    parameters = image.text["parameters"]
    assert parameters.splitlines()[0] == "a lighthouse at dusk"
    assert "Steps: 3," in parameters and "Seed: 42," in parameters and "Sampler: Fake" in parameters
    record = json.loads(image.text["pixyproxy"])
    assert (record["prompt"], record["seed"], record["steps"]) == ("a lighthouse at dusk", 42, 3)
    assert record["guid"] == detail.guid
    assert np.array_equal(np.asarray(image.convert("RGB")), np.asarray(render(42)))


def test_create_records_the_hash_and_size_of_the_stored_png(service):
    detail = service.create({"prompt": "a cat"})
    content = service.images.content(detail.guid)
    data = content.read()
    assert content.sha256 == hashlib.sha256(data).hexdigest()
    assert content.size == len(data)


def test_create_fills_defaults_from_the_model_profile(service, profile, generator):
    detail = service.create({"prompt": "a cat"})
    assert (detail.steps, detail.guidance_scale) == (profile.steps, profile.guidance_scale)
    assert (detail.width, detail.height) == (profile.width, profile.height)
    assert detail.model == generator.info.model
    assert detail.filename == f"{detail.guid}.png"
    assert detail.generation_ms == 7


def test_created_image_is_what_get_and_list_return(service):
    detail = service.create({"prompt": "a cat", "negative_prompt": "dogs"})
    assert service.images.get(detail.guid) == detail
    assert service.images.list() == [detail]
    assert service.images.count() == 1


def test_list_passes_the_page_through(service, repository):
    for n in range(3):
        service.create({"prompt": f"cat {n}"})
    assert [d.prompt for d in service.images.list(PageQuery(limit=2, offset=1))] == ["cat 1", "cat 0"]
    assert repository.calls[-1] == ("list", PageQuery(limit=2, offset=1))


def test_a_before_cursor_is_canonicalised_and_a_non_uuid_one_is_not_found(service, repository):
    guid = str(uuid.uuid4())
    service.images.list(PageQuery(before="{" + guid.upper() + "}"))
    assert repository.calls[-1] == ("list", PageQuery(before=guid))
    with pytest.raises(ImageNotFound):
        service.images.list(PageQuery(before="nope"))
    assert len(repository.calls) == 1


def test_invalid_input_reaches_neither_generator_nor_repository(service, generator, repository):
    with pytest.raises(InvalidInput) as caught:
        service.create({"prompt": "a cat", "steps": 999})
    assert caught.value.field == "steps"
    assert generator.batches == [] and repository.calls == []


def test_a_generation_failure_stores_nothing(service, generator, repository):
    generator.failures.append(GenerationFailed())
    with pytest.raises(GenerationFailed):
        service.create({"prompt": "a cat"})
    assert repository.calls == []


def test_a_generation_that_outlives_the_timeout_fails(service, generator, repository):
    generator.gate.clear()
    service.generation.timeout = 0.05
    with pytest.raises(GenerationFailed, match="timed out"):
        service.create({"prompt": "a cat"})
    assert repository.calls == []
    generator.gate.set()
    deadline = time.monotonic() + 5
    while service.queue.queue_depth and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.parametrize("method", LOOKUPS)
@pytest.mark.parametrize("guid", NOT_UUIDS)
def test_a_string_that_is_not_a_uuid_is_not_found_without_asking_the_repository(service, repository, method, guid):
    with pytest.raises(ImageNotFound) as caught:
        getattr(service.images, method)(guid)
    assert caught.value.status_code == 404
    assert repository.calls == []


@pytest.mark.parametrize("method", LOOKUPS)
def test_an_unknown_uuid_is_not_found(service, repository, method):
    guid = str(uuid.uuid4())
    with pytest.raises(ImageNotFound):
        getattr(service.images, method)(guid)
    assert repository.calls == [(method, guid)]


@pytest.mark.parametrize("spelling", [str.upper, lambda g: "{" + g + "}", lambda g: g.replace("-", "")])
def test_a_uuid_in_another_spelling_finds_the_image(service, spelling):
    detail = service.create({"prompt": "a cat"})
    assert service.images.get(spelling(detail.guid)) == detail


def test_delete_removes_the_image(service):
    detail = service.create({"prompt": "a cat"})
    service.images.delete(detail.guid)
    for method in LOOKUPS:
        with pytest.raises(ImageNotFound):
            getattr(service.images, method)(detail.guid)
