"""MySQL going away: 503 within seconds, then recovery with no restart."""

from __future__ import annotations

import time

import pytest

from tests.tcp_proxy import TcpProxy


@pytest.fixture
def proxy(settings):
    tcp = TcpProxy((settings.db_host, settings.db_port))
    tcp.up()
    yield tcp
    tcp.close()


@pytest.fixture
def client(make_client, proxy):
    return make_client(db_port=proxy.port, db_connect_timeout=1.0, db_read_timeout=2.0)


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


@pytest.mark.parametrize("outage", ["down", "hang"])
def test_reads_answer_503_quickly_and_recover(client, proxy, outage):
    created = client.post("/image/", json={"prompt": "before the outage", "steps": 1}).json()
    getattr(proxy, outage)()
    for path in ("/image/", f"/image/{created['guid']}", f"/image/{created['guid']}/content"):
        response, elapsed = timed(lambda p=path: client.get(p))
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"].isdigit()
        assert "database" in response.json()["detail"]
        assert elapsed < 10
    proxy.up()
    assert client.get("/image/").json() == [created]


def test_a_generation_during_an_outage_is_503_and_stores_nothing(client, proxy):
    proxy.down()
    response = client.post("/image/", json={"prompt": "lost in the outage", "steps": 1})
    assert response.status_code == 503
    proxy.up()
    assert client.get("/image/").json() == []
    assert client.post("/image/", json={"prompt": "after", "steps": 1}).status_code == 200


def test_internals_never_leak_in_outage_errors(client, proxy):
    proxy.down()
    response = client.get("/image/")
    assert response.status_code == 503
    body = response.text
    for leak in ("pymysql", "OperationalError", "Can't connect", "127.0.0.1", str(proxy.port), "Traceback"):
        assert leak not in body
