"""Health, readiness, metrics, API keys and CORS."""

from __future__ import annotations

import logging

import pytest
import torch


def test_health_is_open_and_ok(make_client):
    client = make_client(pixy_api_keys="secret")
    response = client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_ready_names_model_device_and_fallback(client):
    body = client.get("/ready").json()
    assert body["status"] == "ready" and body["database"] is True
    device = "cuda" if torch.cuda.is_available() else "cpu"  # the fixture's PIXY_DEVICE is auto
    dtype = "float16" if device == "cuda" else "float32"
    assert (body["model"], body["device"], body["dtype"], body["fallback"]) == ("tiny", device, dtype, False)


def test_ready_is_503_when_the_database_is_unreachable(make_client):
    client = make_client(db_port=1, db_connect_timeout=1)
    response = client.get("/ready")
    assert response.status_code == 503 and response.json()["database"] is False


def test_metrics_count_requests_generations_and_images(client):
    client.post("/image/", json={"prompt": "counted", "steps": 1})
    client.get("/image/")
    text = client.get("/metrics").text
    assert 'pixy_requests_total{method="POST",route="/image/",status="200"} 1.0' in text
    assert "pixy_generation_seconds_count 1.0" in text
    assert "pixy_queue_depth 0.0" in text
    assert "pixy_images_stored 1.0" in text
    assert 'pixy_request_seconds_bucket{le="+Inf",method="GET",route="/image/"}' in text


@pytest.mark.parametrize("path", ["/image/", "/image", "/v1/images/generations"])
def test_keys_guard_every_api_route(make_client, path):
    client = make_client(pixy_api_keys="k1, k2")
    method = client.get if path.startswith("/image") else client.post
    response = method(path) if path.startswith("/image") else method(path, json={"prompt": "x"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_key_is_accepted_as_bearer_or_x_api_key(make_client):
    client = make_client(pixy_api_keys="k1,k2")
    assert client.get("/image/", headers={"Authorization": "Bearer k2"}).status_code == 200
    assert client.get("/image/", headers={"X-API-Key": "k1"}).status_code == 200
    assert client.get("/image/", headers={"X-API-Key": "k3"}).status_code == 401
    assert client.get("/image/", headers={"Authorization": "Basic k1"}).status_code == 401


def test_keys_and_passwords_never_reach_the_logs(make_client, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_client(pixy_api_keys="topsecret-key")
    client.get("/image/", headers={"X-API-Key": "topsecret-key"})
    client.get("/image/", headers={"Authorization": "Bearer wrong-guess-key"})
    bad_db = make_client(db_password="hunter2-password", db_port=1, db_connect_timeout=1)
    assert bad_db.get("/image/").status_code == 503
    for secret in ("topsecret-key", "wrong-guess-key", "hunter2-password"):
        assert secret not in caplog.text


def test_cors_is_off_by_default(client):
    response = client.get("/image/", headers={"Origin": "http://elsewhere.example"})
    assert "access-control-allow-origin" not in response.headers


def test_cors_allows_configured_origins(make_client):
    client = make_client(pixy_cors_origins="http://gallery.local")
    response = client.get("/image/", headers={"Origin": "http://gallery.local"})
    assert response.headers["access-control-allow-origin"] == "http://gallery.local"
    other = client.get("/image/", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_an_open_service_says_so_once_at_startup(settings, tiny_generator, caplog):
    from fastapi.testclient import TestClient

    from web.app import create_app

    caplog.set_level(logging.WARNING)
    with TestClient(create_app(settings, generator=tiny_generator)) as client:
        client.get("/image/")
        client.get("/image/")
    assert caplog.text.count("PIXY_API_KEYS is empty") == 1
