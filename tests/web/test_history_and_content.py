"""Paging the history, deleting, and cacheable content."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest


def create(client, prompt: str) -> dict:
    response = client.post("/image/", json={"prompt": prompt, "steps": 1})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def five(client) -> list[dict]:
    """Five images, newest first, two of which mention a cat."""
    prompts = ["a Cat on a mat", "a dog", "100% pure", "a black CAT", "a tree"]
    return [create(client, prompt) for prompt in prompts][::-1]


def test_limit_and_offset_page_through_newest_first(client, five):
    first = client.get("/image/", params={"limit": 2})
    second = client.get("/image/", params={"limit": 2, "offset": 2})
    assert [d["guid"] for d in first.json() + second.json()] == [d["guid"] for d in five[:4]]
    assert first.headers["x-total-count"] == "5"


def test_link_next_follows_with_a_keyset_cursor(client, five):
    seen, url = [], "/image/?limit=2"
    while url:
        response = client.get(url)
        seen += [d["guid"] for d in response.json()]
        link = response.headers.get("link")
        url = link[1 : link.index(">")] if link else None
        assert not link or link.endswith('rel="next"')
    assert seen == [d["guid"] for d in five]


def test_q_filters_by_case_insensitive_substring(client, five):
    response = client.get("/image/", params={"q": "cat"})
    assert [d["prompt"] for d in response.json()] == ["a black CAT", "a Cat on a mat"]
    assert response.headers["x-total-count"] == "2"
    assert [d["prompt"] for d in client.get("/image/", params={"q": "%"}).json()] == ["100% pure"]


def test_link_next_keeps_the_filter(client, five):
    response = client.get("/image/", params={"q": "cat", "limit": 1})
    link = response.headers["link"]
    following = client.get(link[1 : link.index(">")])
    assert [d["prompt"] for d in response.json() + following.json()] == ["a black CAT", "a Cat on a mat"]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "many"}])
def test_bad_paging_parameters_are_422(client, params):
    response = client.get("/image/", params=params)
    assert response.status_code == 422
    assert response.json()["field"] in params


def test_delete_removes_row_and_content(client):
    created = create(client, "short-lived")
    assert client.delete(f"/image/{created['guid']}").status_code == 204
    assert client.get(f"/image/{created['guid']}").status_code == 404
    assert client.get(f"/image/{created['guid']}/content").status_code == 404
    assert client.delete(f"/image/{created['guid']}").status_code == 404
    assert client.delete(f"/image/{uuid.uuid4()}").status_code == 404


@pytest.mark.parametrize("storage", ["disk", "mysql"])
def test_content_is_cacheable_with_a_strong_etag(make_client, storage):
    import hashlib

    client = make_client(pixy_storage=storage)
    created = create(client, "cache me")
    url = f"/image/{created['guid']}/content"
    first = client.get(url)
    assert first.headers["etag"] == f'"{hashlib.sha256(first.content).hexdigest()}"'
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    for weak_list_or_any in (f"W/{first.headers['etag']}", f'"other", {first.headers["etag"]}', "*"):
        assert client.get(url, headers={"If-None-Match": weak_list_or_any}).status_code == 304, weak_list_or_any
    head = client.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == "image/png"
    assert head.headers["content-length"] == str(len(first.content))


def test_detail_and_content_answer_while_a_generation_runs(make_client, make_held_client):
    created = create(make_client(), "already here")
    held = make_held_client()
    with ThreadPoolExecutor(3) as pool:
        generation = pool.submit(held.client.post, "/image/", json={"prompt": "slow", "steps": 1})
        held.wait_until_running()
        detail = pool.submit(held.client.get, f"/image/{created['guid']}")
        content = pool.submit(held.client.get, f"/image/{created['guid']}/content")
        try:
            assert detail.result(timeout=30).json() == created
            assert content.result(timeout=30).status_code == 200
            assert not generation.done(), "the reads answered before the generation finished"
        finally:
            held.release()
        assert generation.result(timeout=60).status_code == 200
