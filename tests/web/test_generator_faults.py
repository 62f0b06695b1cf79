"""A failing or out-of-memory generator: a clean 5xx, nothing stored, and the next request works."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from core.exceptions import GenerationFailed, GeneratorOutOfMemory
from web.app import create_app


class FlakyGenerator:
    """The tiny generator, failing on prompts that ask for it."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.info = inner.info

    def generate(self, batch):
        prompt = batch[0].prompt
        if prompt.startswith("fail"):
            raise GenerationFailed()
        if prompt.startswith("oom"):
            raise GeneratorOutOfMemory()
        if prompt.startswith("crash"):
            raise RuntimeError("/secret/path.py exploded")
        return self.inner.generate(batch)


@pytest.fixture
def client(settings, tiny_generator):
    with TestClient(create_app(settings, generator=FlakyGenerator(tiny_generator))) as test_client:
        yield test_client


@pytest.mark.parametrize(("prompt", "status"), [("fail", 500), ("oom", 503), ("crash", 500)])
def test_a_generator_fault_is_a_clean_5xx_and_the_next_request_works(client, prompt, status):
    response = client.post("/image/", json={"prompt": prompt})
    assert response.status_code == status
    body = response.json()
    assert body["detail"] and "secret" not in response.text and "Traceback" not in response.text
    if status == 503:
        assert response.headers["retry-after"].isdigit()
    assert client.get("/image/").json() == []
    assert client.post("/image/", json={"prompt": "fine", "steps": 1}).status_code == 200


def test_a_generation_past_the_timeout_is_a_500_that_says_so(make_held_client):
    held = make_held_client(pixy_generation_timeout=0.2)
    response = held.client.post("/image/", json={"prompt": "never in time", "steps": 1})
    assert response.status_code == 500
    assert "timed out" in response.json()["detail"]
    held.release()
    assert held.client.get("/image/").json() == []
