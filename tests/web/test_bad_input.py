"""Bad input gets a clear 4xx JSON answer, nothing is stored, and the service goes on serving."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.conftest import outside_connection
from tests.web.asgi import post_scope

LEAKS = ("Traceback", "pymysql", "SELECT", "/work", '.py"', 'File "')

BAD_BODIES = [
    b"{not json",
    b'{"prompt": "truncated',
    b"",
    b"[]",
    b'"just a string"',
    b"42",
    b"null",
    b"{}",
    b'{"prompt": null}',
    b'{"prompt": ["a", "list"]}',
    b'{"prompt": {"nested": 1}}',
    b'{"prompt": "ok", "steps": null, "seed": true}',
    b'{"prompt": "\xff\xfe invalid utf-8"}',
    b'{"prompt": "a\\u0000nul"}',
    b'{"prompt": "bell\\u0007"}',
]


def assert_clean_error(response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert isinstance(response.json()["detail"], str) and response.json()["detail"]
    for leak in LEAKS:
        assert leak not in response.text


@pytest.mark.parametrize("body", BAD_BODIES)
def test_malformed_bodies_are_422_and_store_nothing(client, body):
    response = client.post("/image/", content=body, headers={"content-type": "application/json"})
    assert_clean_error(response, 422)
    assert client.get("/image/").json() == []


@pytest.mark.parametrize("body", [b"{not json", b'{"prompt": "truncated'])
def test_undecodable_json_names_the_body_not_a_position(client, body):
    response = client.post("/image/", content=body, headers={"content-type": "application/json"})
    assert response.json()["field"] == "body"


def declare_and_post(app, *, length: int) -> tuple[int, int]:
    """POST headers declaring ``length`` body bytes straight to the ASGI app.

    Returns the status and how many times the app asked for the body.
    """
    reads: list[int] = []
    statuses: list[int] = []

    async def receive():
        reads.append(1)
        return {"type": "http.request", "body": b"z" * 4096, "more_body": True}

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    scope = post_scope("/image/", [(b"content-length", str(length).encode())])
    asyncio.run(app(scope, receive, send))
    return statuses[0], len(reads)


def test_oversized_body_is_413_without_being_read(make_client):
    client = make_client(pixy_max_body_bytes=4096)
    response = client.post(
        "/image/", content=b'{"prompt": "' + b"x" * 100_000 + b'"}', headers={"content-type": "application/json"}
    )
    assert_clean_error(response, 413)
    assert declare_and_post(client.app, length=100_000) == (413, 0)
    assert declare_and_post(client.app, length=4097) == (413, 0), "one byte over the cap was read"


def test_oversized_chunked_body_is_413(make_client):
    client = make_client(pixy_max_body_bytes=4096)

    def chunks():
        yield b'{"prompt": "'
        for _ in range(100):
            yield b"y" * 1000
        yield b'"}'

    response = client.post("/image/", content=chunks(), headers={"content-type": "application/json"})
    assert_clean_error(response, 413)
    assert client.get("/image/").json() == []


def body_of(size: int) -> bytes:
    """A valid request, padded with JSON whitespace to exactly ``size`` bytes."""
    body = json.dumps({"prompt": "to the byte", "steps": 1, "width": 64, "height": 64}).encode()
    return body + b" " * (size - len(body))


def in_chunks(body: bytes):
    yield from (body[start : start + 1000] for start in range(0, len(body), 1000))


@pytest.mark.parametrize("sent", [lambda body: body, in_chunks], ids=["declared", "chunked"])
def test_a_body_of_exactly_the_cap_is_served_and_one_byte_more_is_413(make_client, sent):
    client = make_client(pixy_max_body_bytes=4096)
    json_type = {"content-type": "application/json"}
    assert_clean_error(client.post("/image/", content=sent(body_of(4097)), headers=json_type), 413)
    assert client.get("/image/").json() == []
    at_the_cap = client.post("/image/", content=sent(body_of(4096)), headers=json_type)
    assert at_the_cap.status_code == 200, at_the_cap.text
    assert [image["prompt"] for image in client.get("/image/").json()] == ["to the byte"]


GUID_ATTACKS = [
    "not-a-uuid",
    "' OR '1'='1",
    "1; DROP TABLE images; --",
    "..%2F..%2Fetc%2Fpasswd",
    "%00",
    "x" * 5000,
    "12345678-1234-1234-1234-1234567890123",
    "{guid}",
    "%s",
]


@pytest.mark.parametrize("guid", GUID_ATTACKS)
@pytest.mark.parametrize("suffix", ["", "/content"])
def test_anything_but_a_uuid_names_no_image_without_touching_the_database(make_client, guid, suffix):
    offline = make_client(db_port=1, db_connect_timeout=1)
    response = offline.get(f"/image/{guid}{suffix}")
    assert_clean_error(response, 404)
    assert offline.delete(f"/image/{guid}").status_code == 404


TRICKY_PROMPTS = [
    'it\'s a "quoted" `prompt`',
    "'); DROP TABLE images; --",
    "100% %s %(guid)s {0} {prompt} $1 \\n \\\\",
    "<script>alert('x')</script> &amp; <b>bold</b>",
    "東京の夜景、ネオン",
    "سماء زرقاء فوق الصحراء",
    "Ζεύς και Ήρα, русский текст, हिन्दी",
    "🦊🌌🚀 family: 👨‍👩‍👧‍👦, flag: 🇺🇦",
    "tabs\tand\nnewlines\r\nkept",
]


@pytest.mark.parametrize("prompt", TRICKY_PROMPTS)
def test_tricky_prompts_round_trip_byte_for_byte(client, settings, prompt):
    created = client.post("/image/", json={"prompt": prompt, "negative_prompt": prompt, "steps": 1}).json()
    assert created["prompt"] == prompt
    assert client.get(f"/image/{created['guid']}").json()["prompt"] == prompt
    with outside_connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT prompt, negative_prompt FROM images WHERE guid = %s", (created["guid"],))
        stored = cur.fetchone()
    assert stored == (prompt, prompt)
    assert [item["prompt"] for item in client.get("/image/", params={"q": prompt[:6]}).json()] == [prompt]


def test_the_service_goes_on_serving_after_bad_input(client):
    for body in BAD_BODIES:
        client.post("/image/", content=body, headers={"content-type": "application/json"})
    assert client.post("/image/", json={"prompt": "still here", "steps": 1}).status_code == 200
