"""Steering a generation: parameters, 422s that name the field, reproducibility, provenance."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image


def post(client, **body):
    return client.post("/image/", json={"prompt": "a quiet harbour"} | body)


def content(client, guid: str) -> bytes:
    return client.get(f"/image/{guid}/content").content


def test_defaults_come_from_the_model_profile(client, tiny_generator):
    detail = post(client).json()
    profile = tiny_generator.info.profile
    assert (detail["steps"], detail["guidance_scale"]) == (profile.steps, profile.guidance_scale)
    assert (detail["width"], detail["height"]) == (profile.width, profile.height)
    assert detail["model"] == "tiny"
    assert 0 <= detail["seed"] < 2**32
    assert detail["generation_ms"] >= 0
    assert detail["created_at"]


def test_every_parameter_is_applied_and_returned(client):
    body = {"negative_prompt": "fog", "seed": 12345, "steps": 2, "guidance_scale": 3.0, "width": 64, "height": 96}
    detail = post(client, **body).json()
    assert {key: detail[key] for key in body} == body
    assert Image.open(io.BytesIO(content(client, detail["guid"]))).size == (64, 96)


def test_same_seed_and_settings_give_identical_pixels(client):
    settings = {"seed": 4242, "steps": 2, "negative_prompt": "rain"}
    first, second = post(client, **settings).json(), post(client, **settings).json()
    assert first["guid"] != second["guid"]
    a, b = (Image.open(io.BytesIO(content(client, d["guid"]))) for d in (first, second))
    assert a.tobytes() == b.tobytes()


def pixels(client, guid: str) -> bytes:
    return Image.open(io.BytesIO(content(client, guid))).tobytes()


def test_a_different_seed_gives_different_pixels(client):
    a, b = (post(client, seed=seed).json() for seed in (1, 2))
    assert pixels(client, a["guid"]) != pixels(client, b["guid"])


def test_png_compress_level_changes_the_size_not_the_pixels(make_client):
    pngs = {}
    for level in (0, 9):
        client = make_client(pixy_png_compress_level=level)
        pngs[level] = content(client, post(client, seed=5, steps=1).json()["guid"])
    stored, squeezed = (Image.open(io.BytesIO(png)) for png in (pngs[0], pngs[9]))
    raw = len(stored.tobytes())
    assert len(pngs[0]) > raw > len(pngs[9]), "level 0 stores the pixels uncompressed, level 9 compresses them"
    assert stored.tobytes() == squeezed.tobytes()


def test_server_chosen_seed_sent_back_reproduces_the_image(client):
    chosen = post(client).json()
    again = post(client, seed=chosen["seed"]).json()
    first, second = (Image.open(io.BytesIO(content(client, d["guid"]))) for d in (chosen, again))
    assert first.tobytes() == second.tobytes()


def test_png_carries_its_generation_record(client, tiny_generator):
    detail = post(client, negative_prompt="smoke", seed=99, steps=3, guidance_scale=5.5).json()
    text = Image.open(io.BytesIO(content(client, detail["guid"]))).text
    lines = text["parameters"].split("\n")
    assert lines[0] == "a quiet harbour"
    assert lines[1] == "Negative prompt: smoke"
    assert lines[2].startswith("Steps: 3, Sampler: ")
    assert "CFG scale: 5.5, Seed: 99, Size: 128x128, Model hash: " in lines[2] and lines[2].endswith(", Model: tiny")
    record = json.loads(text["pixyproxy"])
    assert {k: record[k] for k in detail} == detail
    sampler = tiny_generator.info.sampler
    assert record["sampler"] == sampler
    assert f"Sampler: {sampler}, " in lines[2]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("steps", 0),
        ("steps", 101),
        ("steps", 2.5),
        ("steps", "4"),
        ("seed", -1),
        ("seed", 2**32),
        ("seed", "7"),
        ("guidance_scale", -0.5),
        ("guidance_scale", 31),
        ("guidance_scale", "high"),
        ("width", 60),
        ("width", 100),
        ("height", 4096),
        ("negative_prompt", 5),
    ],
)
def test_out_of_range_or_mistyped_parameters_are_422_naming_the_field(client, field, value):
    response = post(client, **{field: value})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert field in response.json()["detail"]
    assert client.get("/image/").json() == []


def test_too_many_pixels_is_422(make_client):
    client = make_client(pixy_max_pixels=128 * 128)
    response = post(client, width=256, height=256)
    assert response.status_code == 422
    assert response.json()["field"] == "width"


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t ", None, 42])
def test_blank_missing_or_mistyped_prompt_is_422(client, prompt):
    response = client.post("/image/", json={"prompt": prompt})
    assert response.status_code == 422
    assert response.json()["field"] == "prompt"


def test_overlong_prompt_is_422(make_client):
    client = make_client(pixy_max_prompt_chars=50)
    response = post(client, prompt="x" * 51)
    assert response.status_code == 422
    assert response.json()["field"] == "prompt"
