"""The OpenAI-compatible images API, driven by the official ``openai`` client."""

from __future__ import annotations

import base64
import io

import openai
import pytest
from openai import OpenAI
from openai.types import ImagesResponse
from PIL import Image

FAST = {"steps": 1}


def sdk(test_client) -> OpenAI:
    """The SDK sending through the app's TestClient (an httpx.Client), so no server is started."""
    return OpenAI(base_url=f"{test_client.base_url}/v1", api_key="test", http_client=test_client, max_retries=0)


@pytest.fixture
def ai(client) -> OpenAI:
    return sdk(client)


def png(b64: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    assert image.format == "PNG"
    return image


def test_b64_json_is_a_png_of_native_size_and_is_listed(ai, client, tiny_generator):
    answer = ai.images.generate(prompt="a paper boat", response_format="b64_json", extra_body=FAST)
    profile = tiny_generator.info.profile
    assert isinstance(answer.created, int)
    [item] = answer.data
    assert item.url is None
    assert item.revised_prompt == "a paper boat"
    assert png(item.b64_json).size == (profile.width, profile.height)
    [listed] = client.get("/image/").json()
    assert (listed["prompt"], listed["steps"]) == ("a paper boat", 1)


def test_b64_json_reads_content_stored_in_mysql(make_client):
    ai = sdk(make_client(pixy_storage="mysql"))
    [item] = ai.images.generate(prompt="a quay", size="64x64", response_format="b64_json", extra_body=FAST).data
    assert png(item.b64_json).size == (64, 64)


def test_url_is_absolute_and_serves_the_png(ai, client):
    [item] = ai.images.generate(prompt="a kite", extra_body=FAST).data
    assert item.b64_json is None
    [listed] = client.get("/image/").json()
    assert item.url == f"http://testserver/image/{listed['guid']}/content"
    response = client.get(item.url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"


def test_openai_only_and_unknown_fields_are_ignored(ai, client):
    answer = ai.images.generate(
        prompt="a lantern",
        model="dall-e-3",
        quality="hd",
        style="vivid",
        user="someone",
        extra_body=FAST | {"not_a_field": [1, 2]},
    )
    assert len(answer.data) == 1
    assert len(client.get("/image/").json()) == 1


def test_n_images_take_consecutive_seeds_and_differ(ai, client):
    answer = ai.images.generate(
        prompt="a snail", n=2, size="64x64", response_format="b64_json", extra_body={"seed": 900, "steps": 2}
    )
    first, second = (png(item.b64_json).tobytes() for item in answer.data)
    assert first != second
    listed = client.get("/image/").json()
    assert sorted(item["seed"] for item in listed) == [900, 901]


def test_four_images_the_most_allowed_are_all_made(ai, client):
    answer = ai.images.generate(prompt="a flotilla", n=4, size="64x64", extra_body=FAST)
    assert len(answer.data) == 4
    assert len(client.get("/image/").json()) == 4


def test_size_sets_width_and_height(ai, client):
    [item] = ai.images.generate(prompt="a tower", size="64x96", response_format="b64_json", extra_body=FAST).data
    assert png(item.b64_json).size == (64, 96)
    [listed] = client.get("/image/").json()
    assert (listed["width"], listed["height"]) == (64, 96)


def test_extensions_are_applied(ai, client):
    extensions = {"negative_prompt": "fog", "seed": 77, "steps": 2, "guidance_scale": 3.0}
    ai.images.generate(prompt="a pier", size="64x64", extra_body=extensions)
    [listed] = client.get("/image/").json()
    assert {key: listed[key] for key in extensions} == extensions


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"size": "abc"}, "size"),
        ({"size": "64x100"}, "size"),
        ({"size": "8x8"}, "size"),
        ({"n": 0}, "n"),
        ({"n": 5}, "n"),
        ({"n": 99}, "n"),
        ({"response_format": "gif"}, "response_format"),
        ({"extra_body": {"steps": 0}}, "steps"),
        ({"extra_body": {"steps": 10_000}}, "steps"),
        ({"extra_body": {"seed": -1}}, "seed"),
        ({"prompt": "   "}, "prompt"),
    ],
)
def test_bad_request_is_400_naming_the_param(ai, client, fields, param):
    with pytest.raises(openai.BadRequestError) as caught:
        ai.images.generate(**({"prompt": "a boat"} | fields))
    assert caught.value.status_code == 400
    assert caught.value.param == param
    assert caught.value.type == "invalid_request_error"
    assert client.get("/image/").json() == []


@pytest.mark.parametrize(("body", "param"), [({"n": 1}, "prompt"), ({"prompt": 5}, "prompt"), (["x"], "body")])
def test_missing_or_mistyped_prompt_is_400(ai, body, param):
    with pytest.raises(openai.BadRequestError) as caught:
        ai.post("/images/generations", body=body, cast_to=ImagesResponse)
    assert caught.value.param == param
    assert set(caught.value.body) == {"message", "type", "param", "code"}


@pytest.mark.parametrize("content", [b"{not json", b"", b"[1]"])
def test_malformed_body_is_400_in_openai_shape(client, content):
    response = client.post("/v1/images/generations", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "message": "body: must be a JSON object",
            "type": "invalid_request_error",
            "param": "body",
            "code": None,
        }
    }


def test_busy_generator_is_503_with_retry_after(make_client):
    ai = sdk(make_client(pixy_max_queue=0))
    with pytest.raises(openai.InternalServerError) as caught:
        ai.images.generate(prompt="a crowd", n=2, size="64x64", extra_body=FAST)
    assert caught.value.status_code == 503
    assert caught.value.response.headers["retry-after"] == "2"


def test_api_key_is_the_sdks_bearer_token(make_client):
    test_client = make_client(pixy_api_keys="right-key")
    with pytest.raises(openai.AuthenticationError) as caught:
        sdk(test_client).images.generate(prompt="a gate", size="64x64", extra_body=FAST)
    assert caught.value.status_code == 401
    keyed = OpenAI(base_url=f"{test_client.base_url}/v1", api_key="right-key", http_client=test_client)
    with pytest.raises(openai.BadRequestError):
        keyed.images.generate(prompt="a gate", n=0)


@pytest.mark.parametrize("storage", ["disk", "mysql"])
def test_output_format_webp_answers_b64_webp_and_keeps_the_stored_png(make_client, storage):
    client = make_client(pixy_storage=storage)
    ai = sdk(client)
    [item] = ai.images.generate(
        prompt="a lark", size="64x64", response_format="b64_json", output_format="webp", extra_body=FAST
    ).data
    image = Image.open(io.BytesIO(base64.b64decode(item.b64_json)))
    assert (image.format, image.size) == ("WEBP", (64, 64))
    [listed] = client.get("/image/").json()
    assert Image.open(io.BytesIO(client.get(f"/image/{listed['guid']}/content").content)).format == "PNG"


def test_output_compression_sets_the_jpeg_quality(ai):
    sizes = []
    for compression in (5, 95):
        [item] = ai.images.generate(
            prompt="a lark",
            size="64x64",
            response_format="b64_json",
            output_format="jpeg",
            output_compression=compression,
            extra_body=FAST | {"seed": 7},
        ).data
        data = base64.b64decode(item.b64_json)
        assert Image.open(io.BytesIO(data)).format == "JPEG"
        sizes.append(len(data))
    assert sizes[0] < sizes[1]


def test_url_with_output_format_points_at_the_content_route_in_that_format(ai, client):
    [item] = ai.images.generate(prompt="a kite", output_format="jpeg", extra_body=FAST).data
    [listed] = client.get("/image/").json()
    assert item.url == f"http://testserver/image/{listed['guid']}/content?format=jpeg"
    response = client.get(item.url)
    assert response.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(response.content)).format == "JPEG"


@pytest.mark.parametrize(
    ("fields", "param"),
    [({"output_format": "gif"}, "output_format"), ({"output_compression": 101}, "output_compression")],
)
def test_bad_output_format_or_compression_is_400_naming_it(client, fields, param):
    response = client.post("/v1/images/generations", json={"prompt": "x"} | fields)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert client.get("/image/").json() == []


def test_stream_true_sends_partial_images_then_the_completed_image_through_the_sdk(make_held_client):
    import threading
    import time

    from openai.types import ImageGenCompletedEvent, ImageGenPartialImageEvent

    held = make_held_client(pixy_max_batch=1)
    held.generator.previews = True  # the held wrapper passes every hook through to the tiny pipeline
    ai = sdk(held.client)
    out: dict = {}

    def generate() -> None:
        stream = ai.images.generate(
            prompt="a paper boat", stream=True, partial_images=2, size="64x64", extra_body={"steps": 6}
        )
        out["events"] = list(stream)

    thread = threading.Thread(target=generate, daemon=True)
    thread.start()
    held.wait_until_running()
    jobs = held.client.app.state.container.jobs
    deadline = time.monotonic() + 10
    while not any(jobs.previews.wanted(job.id) for job in jobs.list()):
        assert time.monotonic() < deadline, "the stream never asked for previews"
        time.sleep(0.01)
    held.release()
    thread.join(timeout=30)
    *partials, completed = out["events"]
    assert [type(e) for e in partials] == [ImageGenPartialImageEvent] * 2
    assert [e.partial_image_index for e in partials] == [0, 1]
    assert isinstance(completed, ImageGenCompletedEvent) and completed.type == "image_generation.completed"
    for event in out["events"]:
        assert (event.size, event.output_format, event.background) == ("64x64", "png", "opaque")
        assert isinstance(event.created_at, int) and event.quality == "auto"
        assert png(event.b64_json).size == (64, 64)
    [stored] = held.client.get("/image/").json()
    assert base64.b64decode(completed.b64_json) == held.client.get(f"/image/{stored['guid']}/content").content


def test_stream_with_output_format_jpeg_and_no_partials_sends_only_the_completed_jpeg(ai):
    events = list(ai.images.generate(prompt="a paper boat", stream=True, output_format="jpeg", extra_body=FAST))
    assert [e.type for e in events] == ["image_generation.completed"]
    assert Image.open(io.BytesIO(base64.b64decode(events[0].b64_json))).format == "JPEG"


@pytest.mark.parametrize("partial_images", [-1, 4, "2"])
def test_a_bad_partial_images_is_400_naming_it(ai, partial_images):
    with pytest.raises(openai.BadRequestError) as caught:
        ai.images.generate(prompt="x", stream=True, extra_body={"partial_images": partial_images})
    assert "partial_images" in str(caught.value)
