"""``POST /v1/images/edits``: the official SDK's edits, and hostile uploads refused with nothing stored."""

from __future__ import annotations

import base64
import io

import numpy as np
import openai
import pytest
from openai import OpenAI
from PIL import Image

from tests.web.edit_inputs import count_rows, encoded, jpeg_scan_bomb, mask_png, noise_png, png_bomb

EDITS = "/v1/images/edits"
FIELDS = {"prompt": "a blue boat", "steps": "2", "seed": "11"}


def sdk(client) -> OpenAI:
    return OpenAI(base_url=f"{client.base_url}/v1", api_key="test", http_client=client, max_retries=0)


def decoded(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def test_the_sdk_edits_with_a_mask_and_answers_like_generations(client, raw):
    source = noise_png(96, 64)
    answer = sdk(client).images.edit(
        image=("photo.png", source, "image/png"),
        mask=("mask.png", mask_png(96, 64, repaint_left=32), "image/png"),
        prompt="a red kite",
        response_format="b64_json",
        extra_body={"seed": 5, "steps": 2},
    )
    [item] = answer.data
    assert item.revised_prompt == "a red kite"
    image = decoded(item.b64_json)
    assert (image.format, image.size) == ("PNG", (96, 64))
    edited, original = np.asarray(image.convert("RGB")), np.asarray(Image.open(io.BytesIO(source)))
    assert np.array_equal(edited[:, 32:], original[:, 32:])  # opaque in the mask: kept
    rows = count_rows(raw)
    assert (rows["images"], rows["jobs"], rows["job_inputs"]) == (1, 1, 0)  # the uploads went with the job's end
    [job] = client.get("/jobs").json()
    assert {"inputs": 1, "mask": True, "strength": 1.0}.items() <= job["params"].items()


def test_a_list_of_images_makes_one_edit_of_each_by_default_at_size(client):
    images = [("a.png", noise_png(96, 64, seed=1), "image/png"), ("b.webp", b"", "image/webp")]
    images[1] = ("b.webp", encoded(Image.new("RGB", (80, 80), (200, 10, 10)), "WEBP"), "image/webp")
    answer = sdk(client).images.edit(
        image=images, prompt="two", size="64x64", response_format="b64_json", output_format="webp",
        extra_body={"steps": 2, "strength": 0.5},
    )  # fmt: skip
    assert [decoded(item.b64_json).format for item in answer.data] == ["WEBP", "WEBP"]
    assert [decoded(item.b64_json).size for item in answer.data] == [(64, 64), (64, 64)]


def test_the_same_upload_and_seed_give_the_same_pixels(client):
    def edit(seed: str) -> bytes:
        answer = client.post(
            EDITS,
            files={"image": ("a.jpg", encoded(Image.open(io.BytesIO(noise_png(72, 72))), "JPEG"), "image/jpeg")},
            data=FIELDS | {"seed": seed, "response_format": "b64_json", "strength": "0.5"},
        )
        assert answer.status_code == 200, answer.text
        return decoded(answer.json()["data"][0]["b64_json"]).convert("RGB").tobytes()

    assert edit("1") == edit("1") != edit("2")


def test_an_odd_sized_upload_becomes_the_nearest_multiple_of_8_within_the_limits(make_client):
    client = make_client(pixy_max_side=128)
    answer = client.post(
        EDITS,
        files={"image": ("a.png", noise_png(300, 101), "image/png")},
        data=FIELDS | {"response_format": "b64_json"},
    )
    assert answer.status_code == 200, answer.text
    assert decoded(answer.json()["data"][0]["b64_json"]).size == (128, 64)  # 128 x 43 scaled, then >= 64


def _files(image: bytes | None = None, mask: bytes | None = None) -> list:
    files = [("image", ("a.png", image if image is not None else noise_png(64, 64), "image/png"))]
    return files + ([("mask", ("m.png", mask, "image/png"))] if mask is not None else [])


def _truncated() -> bytes:
    whole = noise_png(64, 64)
    return whole[: len(whole) // 2]


BAD_UPLOADS = {
    "bomb": (lambda: _files(png_bomb()), {}, "image"),
    "2 KB of 16777216x1 pixels": (lambda: _files(encoded(Image.new("1", (16_777_216, 1)))), {}, "image"),
    "a side over 8192": (lambda: _files(encoded(Image.new("1", (8200, 1025)))), {}, "image"),
    "a JPEG of 1006 scans": (lambda: _files(jpeg_scan_bomb()), {}, "image"),
    "not an image": (lambda: _files(b"%PDF-1.4 this is not a picture\n" * 20), {}, "image"),
    "truncated": (lambda: _files(_truncated()), {}, "image"),
    "empty": (lambda: _files(b""), {}, "image"),
    "gif": (lambda: _files(encoded(Image.new("RGB", (64, 64)), "GIF")), {}, "image"),
    "mask of another width": (lambda: _files(mask=mask_png(32, 64, repaint_left=8)), {}, "mask"),
    "mask of another height": (lambda: _files(mask=mask_png(64, 32, repaint_left=8)), {}, "mask"),
    "mask as jpeg": (lambda: _files(mask=encoded(Image.new("RGB", (64, 64)), "JPEG")), {}, "mask"),
    "mask without alpha": (lambda: _files(mask=encoded(Image.new("L", (64, 64)))), {}, "mask"),
    "mask truncated": (lambda: _files(mask=mask_png(64, 64, repaint_left=8)[:60]), {}, "mask"),
    "no image": (lambda: [("mask", ("m.png", mask_png(64, 64, repaint_left=8), "image/png"))], {}, "image"),
    "five images": (lambda: _files() * 5, {}, "image"),
    "image as text": (
        lambda: [("mask", ("m.png", mask_png(64, 64, repaint_left=8), "image/png"))],
        {"image": "a"},
        "image",
    ),
    "prompt as file": (lambda: _files() + [("prompt", ("p.txt", b"hi", "text/plain"))], {}, "prompt"),
    "no prompt": (lambda: _files(), {"prompt": ""}, "prompt"),
    "strength 0": (lambda: _files(), {"strength": "0"}, "strength"),
    "strength 2": (lambda: _files(), {"strength": "2"}, "strength"),
    "strength nan": (lambda: _files(), {"strength": "nan"}, "strength"),
    "n 5": (lambda: _files(), {"n": "5"}, "n"),
    "size odd": (lambda: _files(), {"size": "65x64"}, "size"),
    "seed not a number": (lambda: _files(), {"seed": "x"}, "seed"),
    "stream": (lambda: _files(), {"stream": "true"}, "stream"),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_bad_uploads_are_400s_naming_the_field_with_nothing_stored(client, raw, case):
    files, fields, field = BAD_UPLOADS[case]
    before = count_rows(raw)
    answer = client.post(EDITS, files=files(), data=FIELDS | fields)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == field, answer.text
    assert count_rows(raw) == before


def test_four_images_are_accepted_and_a_fifth_is_refused(client, raw):
    four = [("image[]", (f"{i}.png", noise_png(64, 64, seed=i), "image/png")) for i in range(4)]
    answer = client.post(EDITS, files=four, data=FIELDS | {"n": "1"})
    assert answer.status_code == 200, answer.text
    [job] = client.get("/jobs").json()
    assert job["params"]["inputs"] == 4
    five = [*four, ("image[]", ("4.png", noise_png(64, 64, seed=4), "image/png"))]
    refused = client.post(EDITS, files=five, data=FIELDS | {"n": "1"})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "image", refused.text
    assert count_rows(raw)["jobs"] == 1


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhi', "multipart/form-data; boundary=xyz", 400),
        (b"garbage without any boundary", "multipart/form-data; boundary=xyz", 400),
        (b"--xyz--\r\n", "multipart/form-data", 400),  # no boundary named
        (b'{"prompt": "p"}', "application/json", 415),
    ],
)
def test_malformed_multipart_is_refused_with_nothing_stored(client, raw, body, content_type, status):
    before = count_rows(raw)
    answer = client.post(EDITS, content=body, headers={"content-type": content_type})
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["type"] == "invalid_request_error"
    assert count_rows(raw) == before


def test_a_body_over_the_upload_cap_is_a_413_and_the_sdk_raises(make_client, raw):
    client = make_client(pixy_max_upload_bytes=100_000)
    before = count_rows(raw)
    with pytest.raises(openai.APIStatusError) as raised:
        sdk(client).images.edit(image=("a.png", noise_png(256, 256), "image/png"), prompt="too big")
    assert raised.value.status_code == 413
    assert count_rows(raw) == before


def test_pixels_are_capped_by_a_setting_before_decoding(make_client, raw):
    client = make_client(pixy_max_upload_pixels=64 * 64)
    answer = client.post(EDITS, files=_files(noise_png(65, 64)), data=FIELDS)
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "image"
    assert "more than 4096 pixels" in answer.json()["error"]["message"]


def test_the_longest_side_is_capped_by_a_setting_before_decoding(make_client):
    client = make_client(pixy_max_upload_side=64)
    answer = client.post(EDITS, files=_files(noise_png(65, 64)), data=FIELDS)
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "image"
    assert "longer than 64 pixels" in answer.json()["error"]["message"]


def test_an_idempotency_key_replays_the_same_upload_and_refuses_another(client, raw):
    def edit(image: bytes):
        files = {"image": ("a.png", image, "image/png")}
        return client.post(EDITS, files=files, data=FIELDS, headers={"Idempotency-Key": "edit-1"})

    first, again = edit(noise_png(64, 64)), edit(noise_png(64, 64))
    assert first.status_code == again.status_code == 200
    assert first.json()["data"] == again.json()["data"]
    other = edit(noise_png(64, 64, seed=1))
    assert other.status_code == 400 and other.json()["error"]["param"] == "Idempotency-Key"
    assert count_rows(raw)["images"] == 1
