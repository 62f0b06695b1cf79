"""Paging that survives deletes and refuses offsets the database cannot take."""

from __future__ import annotations

import pytest


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
