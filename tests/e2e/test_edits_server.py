"""Image edits against the real server, with the official ``openai`` SDK over a real socket."""

from __future__ import annotations

import base64
import io

import httpx
import numpy as np
import openai
import pytest
from openai import OpenAI
from PIL import Image

from tests.web.edit_inputs import mask_png, noise_png


def test_the_openai_sdk_edits_with_a_mask_over_http(server):
    client = OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=120)
    source = noise_png(128, 96)
    answer = client.images.edit(
        image=[("photo.png", source, "image/png")],  # a list: the SDK sends it as image[]
        mask=("mask.png", mask_png(128, 96, repaint_left=64), "image/png"),
        prompt="a window with a view",
        response_format="b64_json",
        extra_body={"seed": 9, "steps": 2},
    )
    [item] = answer.data
    edited = np.asarray(Image.open(io.BytesIO(base64.b64decode(item.b64_json))).convert("RGB"))
    assert edited.shape == (96, 128, 3)
    assert np.array_equal(edited[:, 64:], np.asarray(Image.open(io.BytesIO(source)))[:, 64:])

    url = client.images.edit(image=("photo.png", source, "image/png"), prompt="again", extra_body={"steps": 2})
    content = httpx.get(url.data[0].url, timeout=30)
    assert content.status_code == 200 and Image.open(io.BytesIO(content.content)).size == (128, 96)


def test_a_hostile_upload_is_refused_over_http_with_the_field_named(server):
    client = OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=60)
    with pytest.raises(openai.BadRequestError) as refused:
        client.images.edit(image=("photo.png", b"GIF89a not really", "image/png"), prompt="p")
    assert refused.value.body["param"] == "image"
    assert httpx.get(f"{server.url}/image/", timeout=10).json() == []
