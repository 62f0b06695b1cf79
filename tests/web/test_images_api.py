"""The agreed image API, through HTTP, with the app's lifespan and the tiny model."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image

from core.models import ImageDetail
from tests.conftest import outside_connection


def create(client, path: str = "/image/", **body) -> dict:
    response = client.post(path, json={"prompt": "a lighthouse at dusk"} | body)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("path", ["/image/", "/image"])
def test_post_answers_directly_on_both_slash_forms(client, path):
    response = client.post(path, json={"prompt": "a red fox"}, follow_redirects=False)
    assert response.status_code == 200
    detail = ImageDetail.model_validate(response.json())
    assert detail.prompt == "a red fox"
    assert detail.filename == f"{detail.guid}.png"
    assert str(uuid.UUID(detail.guid)) == detail.guid


@pytest.mark.parametrize("path", ["/image/", "/image"])
def test_list_is_a_bare_array_on_both_slash_forms(client, path):
    created = create(client)
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 200
    assert response.json() == [created]


def test_detail_round_trips_every_field_exactly(client):
    created = create(client, negative_prompt="blurry", seed=7, steps=3, guidance_scale=6.5)
    assert client.get(f"/image/{created['guid']}").json() == created
    assert client.get("/image/").json() == [created]


def test_list_is_newest_first(client):
    first, second, third = (create(client, prompt=f"picture {i}") for i in range(3))
    assert [item["guid"] for item in client.get("/image/").json()] == [third["guid"], second["guid"], first["guid"]]


@pytest.mark.parametrize("storage", ["disk", "mysql"])
def test_content_is_a_png_that_opens(make_client, storage):
    client = make_client(pixy_storage=storage)
    created = create(client)
    response = client.get(f"/image/{created['guid']}/content")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert len(response.content) > 5_000
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"
    assert image.size == (created["width"], created["height"])


def test_other_spellings_of_a_uuid_name_the_same_image(client):
    created = create(client)
    guid = created["guid"]
    png = client.get(f"/image/{guid}/content").content
    for spelling in (guid.upper(), "{" + guid + "}", f"urn:uuid:{guid}", guid.replace("-", "")):
        assert client.get(f"/image/{spelling}").json() == created, spelling
        assert client.get(f"/image/{spelling}/content").content == png, spelling


@pytest.mark.parametrize("suffix", ["", "/content"])
def test_unknown_guid_is_404_json(client, suffix):
    response = client.get(f"/image/{uuid.uuid4()}{suffix}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["detail"] == "image not found"


def test_outside_select_sees_what_post_answered(client, settings):
    created = create(client, prompt="quotes ' \" and emoji 🦊 and 漢字")
    with outside_connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT guid, filename, prompt FROM images WHERE guid = %s", (created["guid"],))
        assert cur.fetchone() == (created["guid"], created["filename"], created["prompt"])


@pytest.mark.parametrize("storage", ["disk", "mysql"])
def test_outside_delete_leaves_the_service_consistent(make_client, settings, storage):
    client = make_client(pixy_storage=storage)
    created = create(client)
    with outside_connection(settings) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM images")
    listed = client.get("/image/")
    assert listed.json() == [] and listed.headers["x-total-count"] == "0"
    assert client.get(f"/image/{created['guid']}").status_code == 404
    assert client.get(f"/image/{created['guid']}/content").status_code == 404
    assert create(client)["guid"] != created["guid"]


def test_every_response_carries_a_unique_request_id(client):
    ids = {client.get("/image/").headers["x-request-id"] for _ in range(5)}
    ids.add(client.get("/nowhere").headers["x-request-id"])
    assert len(ids) == 6


def test_unknown_path_and_wrong_method_answer_json(client):
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and "detail" in missing.json()
    wrong = client.put("/image/")
    assert wrong.status_code == 405 and "detail" in wrong.json()
