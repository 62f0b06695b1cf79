"""Light formats and thumbnails: ``/image/{guid}/content?format=&width=``, made once and kept."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import outside_connection

STORAGES = pytest.mark.parametrize("storage", ["disk", "mysql"])


def create(client, width: int = 128, height: int = 96) -> dict:
    response = client.post("/image/", json={"prompt": "a fox", "steps": 1, "width": width, "height": height})
    assert response.status_code == 200, response.text
    return response.json()


def stored_variants(settings, storage: str, guid: str) -> list[str]:
    """The variants kept for an image, as the store names them (``64.webp``)."""
    if storage == "disk":
        return sorted(p.name.removeprefix(f"{guid}.") for p in Path(settings.pixy_images_dir).glob(f"{guid}.*.*"))
    with outside_connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT variant FROM image_variants WHERE guid = %s ORDER BY variant", (guid,))
        return [row[0] for row in cur.fetchall()]


def overwrite_variant(settings, storage: str, guid: str, key: str, data: bytes) -> None:
    if storage == "disk":
        (Path(settings.pixy_images_dir) / f"{guid}.{key}").write_bytes(data)
        return
    with outside_connection(settings) as conn, conn.cursor() as cur:
        cur.execute("UPDATE image_variants SET content = %s WHERE guid = %s AND variant = %s", (data, guid, key))


@STORAGES
@pytest.mark.parametrize(("fmt", "pil_format"), [("webp", "WEBP"), ("jpeg", "JPEG"), ("png", "PNG")])
def test_a_thumbnail_has_the_asked_format_and_keeps_the_aspect(make_client, settings, storage, fmt, pil_format):
    client = make_client(pixy_storage=storage)
    guid = create(client)["guid"]
    original = client.get(f"/image/{guid}/content")
    response = client.get(f"/image/{guid}/content", params={"format": fmt, "width": 64})
    assert response.status_code == 200
    assert response.headers["content-type"] == f"image/{fmt}"
    image = Image.open(io.BytesIO(response.content))
    assert (image.format, image.size) == (pil_format, (64, 48))
    assert response.headers["etag"] != original.headers["etag"]
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert stored_variants(settings, storage, guid) == [f"64.{fmt}"]
    again = client.get(f"/image/{guid}/content", params={"format": fmt, "width": 64})
    assert (again.content, again.headers["etag"]) == (response.content, response.headers["etag"])
    after = client.get(f"/image/{guid}/content")
    assert after.content == original.content and after.headers["etag"] == original.headers["etag"]
    assert after.headers["content-type"] == "image/png"


@STORAGES
def test_the_second_request_serves_the_kept_variant_without_encoding_again(make_client, settings, storage):
    client = make_client(pixy_storage=storage)
    guid = create(client)["guid"]
    client.get(f"/image/{guid}/content", params={"format": "webp", "width": 64})
    overwrite_variant(settings, storage, guid, "64.webp", b"kept bytes")
    # On disk the ETag is the hash of what is read; in MySQL the stored hash: either way the kept bytes come back.
    assert client.get(f"/image/{guid}/content", params={"format": "webp", "width": 64}).content == b"kept bytes"


@STORAGES
def test_a_width_past_the_original_gives_the_original_size(make_client, settings, storage):
    client = make_client(pixy_storage=storage)
    guid = create(client)["guid"]
    response = client.get(f"/image/{guid}/content", params={"format": "webp", "width": 1024})
    assert Image.open(io.BytesIO(response.content)).size == (128, 96)
    assert stored_variants(settings, storage, guid) == ["128.webp"]
    full = client.get(f"/image/{guid}/content", params={"format": "webp"})
    assert full.headers["etag"] == response.headers["etag"]


@STORAGES
def test_png_at_full_width_is_the_stored_original(make_client, settings, storage):
    client = make_client(pixy_storage=storage)
    guid = create(client)["guid"]
    original = client.get(f"/image/{guid}/content")
    for params in ({"format": "png"}, {"width": 128}, {"width": 512, "format": "png"}):
        same = client.get(f"/image/{guid}/content", params=params)
        assert (same.content, same.headers["etag"]) == (original.content, original.headers["etag"]), params
    assert stored_variants(settings, storage, guid) == []


@STORAGES
def test_a_variant_answers_304_to_its_own_etag_only(make_client, storage):
    client = make_client(pixy_storage=storage)
    guid = create(client)["guid"]
    url = f"/image/{guid}/content?format=webp&width=64"
    etag = client.get(url).headers["etag"]
    cached = client.get(url, headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b"" and cached.headers["etag"] == etag
    png_etag = client.get(f"/image/{guid}/content").headers["etag"]
    assert client.get(url, headers={"If-None-Match": png_etag}).status_code == 200
    head = client.head(url)
    assert head.status_code == 200 and head.headers["content-type"] == "image/webp" and head.content == b""


def test_with_keys_a_variant_is_private_and_varies_by_key(make_client):
    client = make_client(pixy_api_keys="k1")
    client.headers["X-API-Key"] = "k1"
    guid = create(client)["guid"]
    response = client.get(f"/image/{guid}/content", params={"format": "webp", "width": 64})
    assert response.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert response.headers["vary"] == "Authorization, X-API-Key"
    assert client.get(f"/image/{guid}/content", params={"width": 64}, headers={"X-API-Key": ""}).status_code == 401


@STORAGES
def test_delete_removes_the_variants_with_the_image(make_client, settings, storage):
    client = make_client(pixy_storage=storage)
    guid = create(client)["guid"]
    for fmt in ("webp", "jpeg"):
        client.get(f"/image/{guid}/content", params={"format": fmt, "width": 64})
    assert len(stored_variants(settings, storage, guid)) == 2
    assert client.delete(f"/image/{guid}").status_code == 204
    assert stored_variants(settings, storage, guid) == []
    assert client.get(f"/image/{guid}/content", params={"format": "webp", "width": 64}).status_code == 404


@STORAGES
def test_an_outside_delete_hides_the_variants_and_the_next_start_sweeps_them(make_client, settings, storage):
    client = make_client(pixy_storage=storage)
    guid, kept = create(client)["guid"], create(client)["guid"]
    for each in (guid, kept):
        for fmt in ("webp", "png"):
            client.get(f"/image/{each}/content", params={"format": fmt, "width": 64})
    with outside_connection(settings) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM images WHERE guid = %s", (guid,))
    assert client.get(f"/image/{guid}/content", params={"format": "webp", "width": 64}).status_code == 404
    make_client(pixy_storage=storage)  # a restart: its sweep runs
    assert stored_variants(settings, storage, guid) == []
    assert stored_variants(settings, storage, kept) == ["64.png", "64.webp"]
    assert client.get(f"/image/{kept}/content", params={"format": "webp", "width": 64}).status_code == 200


@STORAGES
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"format": "gif"}, "format"),
        ({"format": ""}, "format"),
        ({"format": "WEBP/../png"}, "format"),
        ({"width": 0}, "width"),
        ({"width": -5}, "width"),
        ({"width": 2049}, "width"),
        ({"width": 63}, "width"),
        ({"width": 65}, "width"),
        ({"width": 1025}, "width"),
        ({"width": 10**30}, "width"),
        ({"width": "wide"}, "width"),
        ({"width": "2.5"}, "width"),
        ({"format": "webp", "width": 0}, "width"),
    ],
)
def test_bad_format_or_width_is_a_422_naming_it_and_stores_nothing(make_client, settings, storage, params, field):
    client = make_client(pixy_storage=storage)
    guid = create(client)["guid"]
    response = client.get(f"/image/{guid}/content", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    assert response.json()["field"] == field
    assert stored_variants(settings, storage, guid) == []


@pytest.mark.parametrize("width", [64, 128, 256, 512, 1024])
def test_each_allowed_width_is_served(make_client, width):
    client = make_client()
    guid = create(client, width=256, height=128)["guid"]
    response = client.get(f"/image/{guid}/content", params={"format": "webp", "width": width})
    assert response.status_code == 200
    assert Image.open(io.BytesIO(response.content)).width == min(width, 256)


def test_a_disallowed_width_names_the_allowed_ones_and_240_widths_write_nothing(make_client, settings):
    client = make_client()
    guid = create(client)["guid"]
    response = client.get(f"/image/{guid}/content", params={"format": "webp", "width": 100})
    assert response.status_code == 422
    assert "64, 128, 256, 512, 1024" in response.json()["detail"]
    for width in range(1, 241):
        if width not in (64, 128):
            assert client.get(f"/image/{guid}/content", params={"width": width}).status_code == 422
    assert stored_variants(settings, "disk", guid) == []


def test_the_widths_come_from_the_setting_and_an_empty_list_allows_none(make_client, settings):
    client = make_client(pixy_variant_widths="96")
    guid = create(client)["guid"]
    assert client.get(f"/image/{guid}/content", params={"format": "webp", "width": 96}).status_code == 200
    assert client.get(f"/image/{guid}/content", params={"format": "webp", "width": 64}).status_code == 422
    none = make_client(pixy_variant_widths="")
    refused = none.get(f"/image/{guid}/content", params={"format": "webp", "width": 96})
    assert refused.status_code == 422 and "PIXY_VARIANT_WIDTHS" in refused.json()["detail"]
    assert none.get(f"/image/{guid}/content", params={"format": "webp"}).status_code == 200


@pytest.mark.parametrize("value", ["abc", "64,-1", "64,0", "1.5"])
def test_a_widths_setting_that_is_not_positive_integers_is_refused(settings, value):
    with pytest.raises(ValueError, match="PIXY_VARIANT_WIDTHS|positive integers"):
        type(settings)(**(settings.model_dump() | {"pixy_variant_widths": value}))
