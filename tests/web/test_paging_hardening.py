"""Paging that survives deletes and refuses offsets the database cannot take."""

from __future__ import annotations

import hashlib

import pytest

from tests.data.conftest import make_image


def create(client, prompt: str) -> dict:
    response = client.post("/image/", json={"prompt": prompt, "steps": 1})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("offset", ["18446744073709551616", "9223372036854775808", str(10**9 + 1)])
def test_an_offset_past_the_bound_is_422_not_a_sql_error(client, offset):
    response = client.get("/image/", params={"offset": offset})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "offset"


def test_the_largest_allowed_offset_is_an_empty_page(client):
    response = client.get("/image/", params={"offset": 10**9})
    assert response.status_code == 200 and response.json() == []


def stored(client, count: int) -> list[str]:
    """Guids of ``count`` images stored through the app's repository, newest first."""
    guids = []
    for n in range(count):
        image = make_image(n)
        client.app.state.container.repository.add(image, content=b"png", sha256=hashlib.sha256(b"png").hexdigest())
        guids.append(image.guid)
    return guids[::-1]


def follow(client, url: str) -> list[str]:
    seen = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        seen += [d["guid"] for d in response.json()]
        link = response.headers.get("link")
        url = link[1 : link.index(">")] if link else None
    return seen


def test_paging_goes_on_after_the_image_a_page_ended_on_is_deleted(client):
    newest_first = stored(client, 7)
    first = client.get("/image/", params={"limit": 2})
    assert [d["guid"] for d in first.json()] == newest_first[:2]
    assert client.delete(f"/image/{newest_first[1]}").status_code == 204
    link = first.headers["link"]
    rest = follow(client, link[1 : link.index(">")])
    assert rest == newest_first[2:]
    assert client.get(link[1 : link.index(">")]).headers["x-total-count"] == "6"


def test_before_a_guid_is_still_accepted(client):
    newest_first = stored(client, 4)
    response = client.get("/image/", params={"limit": 2, "before": newest_first[0]})
    assert [d["guid"] for d in response.json()] == newest_first[1:3]


def test_a_cursor_keeps_the_filter_and_pages_to_the_end(client):
    newest_first = stored(client, 5)
    assert follow(client, "/image/?limit=2&q=prompt") == newest_first


@pytest.mark.parametrize("cursor", ["nope", "cDA", "cC0x", "eDEy", "!!!!", "cDk5OTk5OTk5OTk5OTk5OTk5OTk5"])
def test_a_cursor_not_from_a_link_is_422(client, cursor):
    response = client.get("/image/", params={"cursor": cursor})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "cursor"
