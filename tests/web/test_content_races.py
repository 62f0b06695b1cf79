"""Reads racing deletes: every answer is the whole image or a 404, and a cut response is logged as cut."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from core.content import CHUNK_BYTES
from tests.data.conftest import make_image
from web import errors
from web.request_log import RequestLogMiddleware
from web.responses import INLINE_BYTES

READERS = 4


def stored(client: TestClient, count: int, size: int = 2 * CHUNK_BYTES) -> dict[str, bytes]:
    """Images several chunks long, stored through the app's own repository."""
    contents = {}
    for n in range(count):
        image, data = make_image(n), os.urandom(size + n)
        client.app.state.container.repository.add(image, content=data, sha256=hashlib.sha256(data).hexdigest())
        contents[image.guid] = data
    return contents


def race(client: TestClient, guid: str) -> list:
    """``READERS`` content reads and one delete of the same image, released together."""
    start = threading.Barrier(READERS + 1)

    def read():
        start.wait()
        return client.get(f"/image/{guid}/content")

    def delete():
        start.wait()
        return client.delete(f"/image/{guid}")

    with ThreadPoolExecutor(READERS + 1) as threads:
        reads = [threads.submit(read) for _ in range(READERS)]
        deleted = threads.submit(delete)
        assert deleted.result(timeout=60).status_code == 204
        return [read.result(timeout=60) for read in reads]


@pytest.mark.parametrize("storage", ["disk", "mysql"])
@pytest.mark.parametrize("size", [2 * CHUNK_BYTES, INLINE_BYTES + 1], ids=["read at once", "streamed"])
def test_reads_racing_a_delete_get_the_whole_image_or_404(make_client, storage, size):
    client = make_client(pixy_storage=storage)
    outcomes = []
    for guid, data in stored(client, 12 if size <= INLINE_BYTES else 4, size).items():
        for response in race(client, guid):
            outcomes.append(response.status_code)
            assert response.status_code in (200, 404), response.text
            if response.status_code == 200:
                assert response.headers["content-length"] == str(len(data))
                assert response.content == data
                assert response.headers["etag"] == f'"{hashlib.sha256(response.content).hexdigest()}"'
    assert 200 in outcomes or 404 in outcomes


def test_a_full_pool_answers_503_with_retry_after(make_client):
    client = make_client(db_pool_max=1, db_pool_timeout=0.2)
    with client.app.state.container.pool.connection():
        response = client.get("/image/")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["detail"] == "database busy, try again shortly"
    assert client.get("/image/").status_code == 200


async def _fails_mid_body(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"part", "more_body": True})
    raise RuntimeError("the content went away")


async def _left_mid_body(scope, receive, send) -> None:
    """What a streaming response does when its client disconnects: it stops without a last body."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"part", "more_body": True})


async def _whole(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"all", "more_body": False})


@pytest.mark.parametrize(("path", "marker"), [("/fails", " aborted"), ("/left", " aborted"), ("/whole", "")])
def test_a_response_cut_after_its_status_is_logged_and_counted_as_aborted(caplog, path, marker):
    routes = {"/fails": _fails_mid_body, "/left": _left_mid_body, "/whole": _whole}
    finished = []

    async def inner(scope, receive, send) -> None:
        await routes[scope["path"]](scope, receive, send)

    app = RequestLogMiddleware(inner, on_error=errors.error_app, on_finish=lambda *args: finished.append(args))
    with caplog.at_level(logging.INFO, logger="pixyproxy.request"):
        TestClient(app, raise_server_exceptions=False).get(path)
    ends = [r.getMessage() for r in caplog.records if r.getMessage().startswith("REQUEST END")]
    assert len(ends) == 1
    assert re.fullmatch(rf"REQUEST END GET {path} 200 route=- \d+\.\dms{marker}", ends[0]), ends[0]
    assert finished[0][2] == ("aborted" if marker else 200)
