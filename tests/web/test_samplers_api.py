"""Choosing a sampler per request: listed, checked, applied, and recorded in the detail and both PNG chunks."""

from __future__ import annotations

import io
import json

import openai
import pytest
from PIL import Image

from core.samplers import SAMPLERS, SCHEDULERS
from tests.web.test_openai_api import sdk

FAST = {"prompt": "a red kite", "seed": 11, "steps": 2}


def post(client, **body):
    return client.post("/image/", json=FAST | body)


def png(client, guid: str) -> Image.Image:
    return Image.open(io.BytesIO(client.get(f"/image/{guid}/content").content))


def test_samplers_lists_a1111_names_and_schedules(client):
    assert client.get("/samplers").json() == {"samplers": list(SAMPLERS), "schedulers": list(SCHEDULERS)}


def test_the_default_is_the_models_own_sampler_and_is_recorded(client, tiny_generator):
    detail = post(client).json()
    assert (detail["sampler"], detail["scheduler"]) == (tiny_generator.info.sampler, "automatic")
    assert tiny_generator.info.sampler == "Euler"


def test_the_chosen_sampler_is_used_and_recorded_everywhere(client):
    detail = post(client, sampler="DPM++ 2M", scheduler="karras").json()
    assert (detail["sampler"], detail["scheduler"]) == ("DPM++ 2M", "karras")
    assert client.get(f"/image/{detail['guid']}").json() == detail
    text = png(client, detail["guid"]).text
    assert "Sampler: DPM++ 2M, Schedule type: Karras," in text["parameters"]
    record = json.loads(text["pixyproxy"])
    assert (record["sampler"], record["scheduler"]) == ("DPM++ 2M", "karras")


def test_the_same_sampler_repeats_pixels_and_another_changes_them(client):
    first, again, other = (post(client, sampler=s).json()["guid"] for s in ("Heun", "Heun", "UniPC"))
    assert png(client, first).tobytes() == png(client, again).tobytes()
    assert png(client, first).tobytes() != png(client, other).tobytes()


@pytest.mark.parametrize(
    ("body", "field"),
    [({"sampler": "Euler b"}, "sampler"), ({"scheduler": "cosine"}, "scheduler"), ({"sampler": 3}, "sampler")],
)
def test_an_unknown_value_is_a_422_naming_the_field(client, body, field):
    answer = post(client, **body)
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith(f"{field}:")


def test_a_schedule_the_sampler_cannot_take_is_a_422_naming_scheduler(client):
    answer = post(client, sampler="DDIM", scheduler="karras")
    assert answer.status_code == 422
    assert answer.json()["detail"] == "scheduler: DDIM takes only the automatic schedule"


def test_jobs_take_a_sampler_too(client):
    job = client.post("/jobs", json=FAST | {"sampler": "LMS", "scheduler": "exponential"}).json()
    assert (job["params"]["sampler"], job["params"]["scheduler"]) == ("LMS", "exponential")


def test_openai_takes_the_sampler_as_an_extra_body_field(client):
    answer = sdk(client).images.generate(prompt="a kite", extra_body={"steps": 1, "sampler": "DDIM"})
    guid = answer.data[0].url.split("/image/")[1].split("/")[0]
    assert client.get(f"/image/{guid}").json()["sampler"] == "DDIM"
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(client).images.generate(prompt="a kite", extra_body={"sampler": "nope"})
    assert caught.value.body["param"] == "sampler"
