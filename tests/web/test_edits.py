"""Image edits: ``init_image`` on the native routes, ``POST /v1/images/edits`` with uploads, and bad input."""

from __future__ import annotations

import io
import json
import time
import uuid

import numpy as np
import pytest
from PIL import Image

from core.clock import now
from core.models import GenerationRequest
from service.edits.uploads import check_uploads
from tests.web.edit_inputs import count_rows, mask_png, noise_png

FAST = {"seed": 7, "steps": 2}


def pixels(client, guid: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(client.get(f"/image/{guid}/content").content)).convert("RGB"))


def finished(client, job_id: str) -> dict:
    deadline = time.monotonic() + 60
    while (job := client.get(f"/jobs/{job_id}").json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    return job


def stored(client, **extra) -> dict:
    answer = client.post("/image/", json={"prompt": "a lighthouse", "width": 96, "height": 64} | FAST | extra)
    assert answer.status_code == 200, answer.text
    return answer.json()


# ---------------------------------------------------------------- native: init_image and strength


def test_img2img_records_its_source_and_strength_in_the_detail_and_the_png(client):
    source = stored(client)
    edit = stored(client, init_image=source["guid"], strength=0.5, width=None, height=None)
    assert (edit["init_image"], edit["strength"]) == (source["guid"], 0.5)
    assert (edit["width"], edit["height"]) == (96, 64)  # the source's size when none is asked for
    assert client.get(f"/image/{edit['guid']}").json() == edit
    chunks = Image.open(io.BytesIO(client.get(f"/image/{edit['guid']}/content").content)).text
    assert json.loads(chunks["pixyproxy"])["init_image"] == source["guid"]
    assert f"Denoising strength: 0.5, Init image: {source['guid']}" in chunks["parameters"]


def test_the_same_seed_and_source_give_the_same_pixels(client):
    source = stored(client)["guid"]
    edit = {"init_image": source, "strength": 0.75, "steps": 4}  # 3 of the 4 steps run; at 0.5, 2
    first, again = (stored(client, **edit)["guid"] for _ in range(2))
    other_seed = stored(client, **edit | {"seed": 8})["guid"]
    other_strength = stored(client, **edit | {"strength": 0.5})["guid"]
    assert np.array_equal(pixels(client, first), pixels(client, again))
    assert not np.array_equal(pixels(client, first), pixels(client, other_seed))
    assert not np.array_equal(pixels(client, first), pixels(client, other_strength))
    assert not np.array_equal(pixels(client, first), pixels(client, source))


def test_strength_defaults_to_0_6_for_an_init_image_and_is_plain_generation_without(client):
    source = stored(client)
    assert stored(client, init_image=source["guid"])["strength"] == 0.6
    assert (source["init_image"], source["strength"]) == (None, None)


def test_a_job_edits_a_stored_image_in_the_background(client):
    source = stored(client)["guid"]
    accepted = client.post("/jobs", json={"prompt": "at dusk", "init_image": source, "strength": 0.5} | FAST)
    assert accepted.status_code == 202, accepted.text
    edit = {"init_image": source, "strength": 0.5, "inputs": 0, "mask": False}
    assert edit.items() <= accepted.json()["params"].items()
    job = finished(client, accepted.json()["id"])
    assert job["status"] == "succeeded", job
    assert job["images"][0]["init_image"] == source


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"strength": 0.5}, "strength"),  # no image to start from
        ({"init_image": "00000000-0000-4000-8000-000000000000"}, "init_image"),
        ({"init_image": "not-a-guid"}, "init_image"),
        ({"init_image": 5}, "init_image"),
        ({"init_image": "SOURCE", "strength": 0}, "strength"),
        ({"init_image": "SOURCE", "strength": 1.5}, "strength"),
        ({"init_image": "SOURCE", "strength": -0.2}, "strength"),
        ({"init_image": "SOURCE", "strength": "0.5"}, "strength"),
        ({"init_image": "SOURCE", "strength": 0.4, "steps": 2}, "strength"),  # int(2 x 0.4) = 0 steps to run
    ],
)
@pytest.mark.parametrize("route", ["/image/", "/jobs"])
def test_bad_edit_fields_are_422s_naming_the_field_and_store_nothing(client, raw, route, body, field):
    source = stored(client)["guid"] if "SOURCE" in body.values() else None
    body = {key: source if value == "SOURCE" else value for key, value in body.items()}
    before = count_rows(raw)
    answer = client.post(route, json={"prompt": "p", "seed": 1, "steps": 4} | body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert count_rows(raw) == before


def test_an_init_image_deleted_before_its_job_runs_fails_the_job_cleanly(make_held_client):
    held = make_held_client()
    held.release()
    source = stored(held.client)["guid"]
    held.wait_until_running()  # the source's own start
    held.generator.gate.clear()
    # Both job runners busy (runners = max batch + 1): the edit waits, unread, for one.
    first, second = (held.client.post("/jobs", json={"prompt": "blocker"} | FAST).json() for _ in range(2))
    held.wait_until_running()
    held.wait_until_queued(1)
    edit = held.client.post("/jobs", json={"prompt": "late", "init_image": source} | FAST).json()
    assert held.client.delete(f"/image/{source}").status_code == 204
    held.release()
    job = finished(held.client, edit["id"])
    assert job["status"] == "failed"
    assert "init_image" in job["error"]["detail"]
    assert {finished(held.client, each["id"])["status"] for each in (first, second)} == {"succeeded"}


def test_an_upload_of_an_image_bigger_than_the_json_cap_reaches_the_edits_route(client):
    big = noise_png(256, 256)  # noise hardly compresses: about 200 KB, over the 64 KiB JSON cap
    assert len(big) > 64 * 1024
    answer = client.post(
        "/v1/images/edits", files={"image": ("a.png", big, "image/png")}, data={"prompt": "p", "steps": "2"}
    )
    assert answer.status_code == 200, answer.text
    as_json = client.post("/image/", content=b"x" * len(big), headers={"content-type": "application/json"})
    assert as_json.status_code == 413  # the JSON routes keep their cap


def test_inpainting_changes_only_the_transparent_part_of_the_mask(client):
    source = noise_png(96, 64)
    answer = client.post(
        "/v1/images/edits",
        files={
            "image": ("a.png", source, "image/png"),
            "mask": ("m.png", mask_png(96, 64, repaint_left=48), "image/png"),
        },
        data={"prompt": "a red door", "response_format": "url", "seed": "3", "steps": "2"},
    )
    assert answer.status_code == 200, answer.text
    guid = answer.json()["data"][0]["url"].split("/image/")[1].split("/")[0]
    edited, original = pixels(client, guid), np.asarray(Image.open(io.BytesIO(source)).convert("RGB"))
    assert np.array_equal(edited[:, 48:], original[:, 48:])
    assert not np.array_equal(edited[:, :48], original[:, :48])
    assert client.get(f"/image/{guid}").json()["strength"] == 1.0


def test_a_queued_edit_runs_after_a_restart_from_what_mysql_kept(make_client, raw):
    """As if the process died after accepting an edit: its row and uploads are all the next one has."""
    first = make_client()
    container = first.app.state.container
    uploads = check_uploads([("image", noise_png(64, 64))], ("mask", mask_png(64, 64)), max_pixels=10**6)
    request = GenerationRequest(prompt="after the restart", seed=4, steps=2)
    params = container.jobs.intake.resolver.resolve(request, uploads=uploads)
    job_id = str(uuid.uuid4())
    inputs = container.jobs.intake.inputs.writes(job_id, uploads, params)
    container.jobs.repository.add(job_id, params, n=1, created_at=now(), inputs=inputs)
    first.__exit__(None, None, None)
    assert count_rows(raw)["job_inputs"] == 2

    second = make_client()  # recovers the queued job, and runs it
    job = finished(second, job_id)
    assert job["status"] == "succeeded", job
    assert (job["images"][0]["strength"], job["params"]["mask"]) == (1.0, True)
    assert count_rows(raw)["job_inputs"] == 0
