"""Issue 10, the web edge: bodies /v1 cannot parse, media types, cache and keys, forged Host, ops behind keys."""

from __future__ import annotations

import pytest

FAST = {"steps": 1}
KEY = {"X-API-Key": "k1"}
DEEP = b"[" * 5000 + b"]" * 5000
EVIL = {"Host": "evil.example"}


def create(client, prompt: str, headers: dict | None = None) -> dict:
    response = client.post("/image/", json={"prompt": prompt} | FAST, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def assert_openai_error(response, status: int) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]


# Item 10: a body json.loads cannot take (RecursionError) is a client error, not a 500.
def test_deeply_nested_json_on_v1_is_an_openai_400(client):
    response = client.post("/v1/images/generations", content=DEEP, headers={"Content-Type": "application/json"})
    assert_openai_error(response, 400)


def test_deeply_nested_json_on_image_stays_422(client):
    response = client.post("/image/", content=DEEP, headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and response.json()["field"] == "body"


# Item 13: only application/json bodies, so a cross-site form or text/plain post cannot generate.
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_v1_refuses_bodies_that_are_not_json_with_415(client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/v1/images/generations", content=b'{"prompt": "x", "steps": 1}', headers=headers)
    assert_openai_error(response, 415)
    assert client.get("/image/").json() == []


def test_v1_accepts_json_with_a_charset(client):
    headers = {"Content-Type": "application/json; charset=utf-8"}
    response = client.post("/v1/images/generations", content=b'{"prompt": "x", "steps": 1}', headers=headers)
    assert response.status_code == 200, response.text


def test_image_refuses_text_plain_with_a_4xx(client):
    response = client.post("/image/", content=b'{"prompt": "x", "steps": 1}', headers={"Content-Type": "text/plain"})
    assert response.status_code == 422 and response.json()["detail"]
    assert client.get("/image/").json() == []


# Item 12: with keys, content is for the key holder only; a shared cache must not serve it to others.
def test_open_content_is_publicly_cacheable(client):
    created = create(client, "public")
    response = client.get(f"/image/{created['guid']}/content")
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "vary" not in response.headers


def test_keyed_content_is_private_and_varies_on_the_key(make_client):
    client = make_client(pixy_api_keys="k1")
    created = create(client, "private", headers=KEY)
    url = f"/image/{created['guid']}/content"
    for response in (client.get(url, headers=KEY), client.get(url, headers=KEY | {"If-None-Match": "*"})):
        assert response.headers["cache-control"] == "private, max-age=31536000, immutable"
        assert response.headers["vary"] == "Authorization, X-API-Key"


# Item 14: a forged Host never reaches a Link, a url or a Location.
def test_link_next_is_relative_under_a_forged_host(client):
    for prompt in ("one", "two"):
        create(client, prompt)
    link = client.get("/image/?limit=1", headers=EVIL).headers["link"]
    assert "evil.example" not in link and link.startswith("</image/?")


def test_openai_url_uses_the_public_url_when_set(make_client):
    client = make_client(pixy_public_url="https://pixy.example.org/base/")
    body = {"prompt": "a kite", "steps": 1}
    [item] = client.post("/v1/images/generations", json=body, headers=EVIL).json()["data"]
    assert item["url"].startswith("https://pixy.example.org/base/image/") and item["url"].endswith("/content")


@pytest.mark.parametrize(("method", "path"), [("POST", "/v1/images/generations/"), ("GET", "/health/")])
def test_slash_redirects_never_reflect_the_host(client, method, path):
    response = client.request(method, path, json={"prompt": "x"}, headers=EVIL, follow_redirects=False)
    assert "evil.example" not in response.headers.get("location", "")
    assert "evil.example" not in response.text


# Item 15: with keys, operations pages need one too, unless opened; probes and the gallery stay open.
OPS = ["/metrics", "/docs", "/redoc", "/openapi.json"]


@pytest.mark.parametrize("path", OPS)
def test_ops_pages_need_a_key_when_keys_are_set(make_client, path):
    client = make_client(pixy_api_keys="k1")
    refused = client.get(path)
    assert refused.status_code == 401 and refused.json()["detail"]
    assert refused.headers["www-authenticate"] == "Bearer"
    assert client.get(path, headers=KEY).status_code == 200


def test_ops_pages_can_be_opened_by_settings(make_client):
    client = make_client(pixy_api_keys="k1", pixy_public_metrics=True, pixy_public_docs=True)
    for path in OPS:
        assert client.get(path).status_code == 200, path
    assert client.get("/image/").status_code == 401


def test_metrics_and_docs_open_separately(make_client):
    metrics_only = make_client(pixy_api_keys="k1", pixy_public_metrics=True)
    assert metrics_only.get("/metrics").status_code == 200
    assert metrics_only.get("/docs").status_code == 401


@pytest.mark.parametrize("path", ["/health", "/ready", "/", "/static/gallery.js"])
def test_probes_and_the_gallery_stay_open_with_keys(make_client, path):
    assert make_client(pixy_api_keys="k1").get(path).status_code == 200


@pytest.mark.parametrize("path", ["/image/", "/v1/images/generations"])
def test_the_key_is_checked_before_the_body_is_parsed(make_client, path):
    client = make_client(pixy_api_keys="k1")
    response = client.post(path, content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
