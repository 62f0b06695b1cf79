"""Several models on one box, chosen per request: listed, applied, recorded, evicted, refused by name."""

from __future__ import annotations

import hashlib
import io
import json

import openai
import pytest
from PIL import Image

from tests.conftest import TINY_DIR, TINY_XL_DIR
from tests.web.test_mcp_tools import call, text
from tests.web.test_openai_api import sdk

FAST = {"prompt": "a lighthouse", "seed": 5, "steps": 2}


@pytest.fixture
def two(make_client, tiny_xl):
    """tiny (the default, already loaded) and tiny-xl (loaded on first use), one on the device at a time."""
    return make_client(pixy_models=f"{tiny_xl},missing/model", pixy_max_loaded_models=1)


def post(client, **body):
    return client.post("/image/", json=FAST | body)


def pixels(client, guid: str) -> bytes:
    return Image.open(io.BytesIO(client.get(f"/image/{guid}/content").content)).tobytes()


def listed(client) -> dict[str, dict]:
    return {model["id"]: model for model in client.get("/models").json()}


def test_models_lists_each_with_family_defaults_and_state(two):
    models = listed(two)
    assert list(models) == ["tiny", "tiny-xl", "missing/model"]
    assert models["tiny"] == {
        "id": "tiny",
        "family": "StableDiffusionPipeline",
        "default": True,
        "available": True,
        "loaded": True,
        "defaults": {"steps": 4, "guidance_scale": 7.5, "width": 128, "height": 128},
    }
    assert models["tiny-xl"]["family"] == "StableDiffusionXLPipeline"
    assert (models["tiny-xl"]["default"], models["tiny-xl"]["loaded"]) == (False, False)
    assert models["tiny-xl"]["defaults"] == {"steps": 3, "guidance_scale": 5.0, "width": 128, "height": 128}
    missing = models["missing/model"]
    assert missing["available"] is False
    assert "weights are missing" in missing["reason"] and "--model missing/model" in missing["reason"]


def test_each_model_is_reproducible_and_the_two_differ(two):
    sd, sd_again = (post(two).json() for _ in range(2))
    xl, xl_again = (post(two, model="tiny-xl").json() for _ in range(2))
    assert (sd["model"], xl["model"]) == ("tiny", "tiny-xl")
    assert pixels(two, sd["guid"]) == pixels(two, sd_again["guid"])
    assert pixels(two, xl["guid"]) == pixels(two, xl_again["guid"])
    assert pixels(two, sd["guid"]) != pixels(two, xl["guid"])


def test_a_models_defaults_come_from_its_own_profile_and_it_is_recorded(two):
    detail = two.post("/image/", json={"prompt": "a lighthouse", "model": "tiny-xl"}).json()
    assert (detail["steps"], detail["guidance_scale"]) == (3, 5.0)
    png = Image.open(io.BytesIO(two.get(f"/image/{detail['guid']}/content").content))
    assert ", Model: tiny-xl" in png.text["parameters"]
    assert json.loads(png.text["pixyproxy"])["model"] == "tiny-xl"
    assert two.get(f"/image/{detail['guid']}").json() == detail


def unet_hash(folder) -> str:
    return hashlib.sha256((folder / "unet" / "diffusion_pytorch_model.safetensors").read_bytes()).hexdigest()[:10]


def test_each_png_names_its_models_short_hash_as_a1111_does(two):
    for model, folder in (("tiny", TINY_DIR), ("tiny-xl", TINY_XL_DIR)):
        detail = post(two, model=model).json()
        png = Image.open(io.BytesIO(two.get(f"/image/{detail['guid']}/content").content))
        assert f", Model hash: {unet_hash(folder)}, Model: {model}" in png.text["parameters"]
        assert json.loads(png.text["pixyproxy"])["model_hash"] == unet_hash(folder)
    assert unet_hash(TINY_DIR) != unet_hash(TINY_XL_DIR)


def test_alternating_models_evict_the_least_recently_used(two):
    post(two, model="tiny-xl")
    assert {m["id"]: m["loaded"] for m in listed(two).values() if m["available"]} == {"tiny": False, "tiny-xl": True}
    post(two)
    assert {m["id"]: m["loaded"] for m in listed(two).values() if m["available"]} == {"tiny": True, "tiny-xl": False}
    back = post(two, model="tiny-xl").json()  # parked in CPU memory, back without a load
    assert back["model"] == "tiny-xl"


def test_an_unknown_model_is_a_422_naming_model_and_the_ids(two):
    answer = post(two, model="sdxl-lightning")
    assert answer.status_code == 422
    assert answer.json()["detail"] == "model: 'sdxl-lightning' is not served here; models: tiny, tiny-xl, missing/model"


def test_an_unavailable_model_is_refused_saying_why(two):
    answer = post(two, model="missing/model")
    assert answer.status_code == 503
    assert answer.json()["detail"].startswith("model: 'missing/model' is unavailable: its weights are missing")


def test_openai_names_mean_the_default(two):
    assert post(two, model="dall-e-3").json()["model"] == "tiny"


def test_jobs_take_a_model(two):
    job = two.post("/jobs", json=FAST | {"model": "tiny-xl"}).json()
    assert job["params"]["model"] == "tiny-xl"


def test_the_openai_sdk_lists_and_chooses_models(two):
    ai = sdk(two)
    assert [model.id for model in ai.models.list()] == ["tiny", "tiny-xl"]
    assert ai.models.retrieve("tiny-xl").id == "tiny-xl"
    answer = ai.images.generate(prompt="a kite", model="tiny-xl", extra_body={"steps": 1})
    guid = answer.data[0].url.split("/image/")[1].split("/")[0]
    assert two.get(f"/image/{guid}").json()["model"] == "tiny-xl"
    assert ai.images.generate(prompt="a kite", model="gpt-image-1", extra_body={"steps": 1}).data
    with pytest.raises(openai.BadRequestError) as caught:
        ai.images.generate(prompt="a kite", model="nope")
    assert caught.value.body["param"] == "model"
    with pytest.raises(openai.NotFoundError):
        ai.models.retrieve("nope")


def test_mcp_lists_models_and_generates_with_one(two):
    models, made = call(
        two, ("list_models", {}), ("generate_image", {"prompt": "a fox", "model": "tiny-xl", "steps": 1})
    )
    assert [model["id"] for model in json.loads(text(models))] == ["tiny", "tiny-xl", "missing/model"]
    assert json.loads(text(made))["model"] == "tiny-xl"
