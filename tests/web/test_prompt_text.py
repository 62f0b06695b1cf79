"""Prompt text: characters no prompt needs are refused in both prompts, and no prompt forges provenance."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

# Raw JSON escapes: the client sends them, json.loads turns them into the characters.
REFUSED = {
    "lone surrogate": "\\ud800",
    "C1 control NEL": "\\u0085",
    "C1 control CSI": "\\u009b",
    "right-to-left override": "\\u202e",
    "left-to-right embedding": "\\u202a",
    "first-strong isolate": "\\u2068",
    "pop directional isolate": "\\u2069",
}
TINY = {"steps": 1, "width": 64, "height": 64}


def post_json(client, path: str, fields: dict[str, str]) -> object:
    body = "{" + ", ".join(f'"{key}": "{value}"' for key, value in fields.items()) + "}"
    return client.post(path, content=body.encode("ascii"), headers={"content-type": "application/json"})


@pytest.mark.parametrize("field", ["prompt", "negative_prompt"])
@pytest.mark.parametrize("escape", REFUSED.values(), ids=REFUSED.keys())
def test_refused_characters_are_422_naming_the_field(client, field, escape):
    fields = {"prompt": "a calm sea"} | {field: f"before {escape} after"}
    response = post_json(client, "/image/", fields)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert client.get("/image/").json() == []


@pytest.mark.parametrize("field", ["prompt", "negative_prompt"])
def test_openai_route_refuses_a_lone_surrogate_naming_the_param(client, field):
    fields = {"prompt": "a calm sea"} | {field: "x \\udc00 y"}
    response = post_json(client, "/v1/images/generations", fields)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == field
    assert client.get("/image/").json() == []


def test_a_prompt_cannot_forge_lines_of_the_parameters_chunk(client):
    prompt = "a boat\nNegative prompt: nothing\nSteps: 999, Sampler: Forged, Seed: 1"
    detail = client.post("/image/", json={"prompt": prompt, "negative_prompt": "fog\r\nSteps: 998"} | TINY).json()
    text = Image.open(io.BytesIO(client.get(f"/image/{detail['guid']}/content").content)).text
    lines = text["parameters"].split("\n")
    assert len(lines) == 3
    assert lines[0] == "a boat Negative prompt: nothing Steps: 999, Sampler: Forged, Seed: 1"
    assert lines[1] == "Negative prompt: fog Steps: 998"
    assert lines[2].startswith("Steps: 1, Sampler: ")
    assert not any(line.startswith("Steps: 99") for line in lines)
    record = json.loads(text["pixyproxy"])
    assert (record["prompt"], record["negative_prompt"]) == (prompt, "fog\r\nSteps: 998")
