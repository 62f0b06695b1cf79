"""A failing or out-of-memory generator: a clean 5xx, nothing stored, and the next request works."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from core.exceptions import GenerationFailed, GeneratorOutOfMemory
from web.app import create_app


class FlakyGenerator:
    """The tiny generator, failing on prompts that ask for it; a "poison" prompt fails its whole batch."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.info = inner.info
        self.batch_sizes: list[int] = []

    def generate(self, batch, **hooks):
        self.batch_sizes.append(len(batch))
        prompt = batch[0].prompt
        if any(p.prompt.startswith("poison") or (p.prompt.startswith("third") and p.seed == 12) for p in batch):
            raise GenerationFailed()
        if prompt.startswith("fail"):
            raise GenerationFailed()
        if prompt.startswith("oom"):
            raise GeneratorOutOfMemory()
        if prompt.startswith("crash"):
            raise RuntimeError("/secret/path.py exploded")
        return self.inner.generate(batch, **hooks)


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


def test_a_poisoned_request_fails_alone_and_the_three_batched_with_it_succeed(settings, tiny_generator):
    settings = type(settings)(**(settings.model_dump() | {"pixy_max_batch": 4, "pixy_batch_wait_ms": 5000}))
    prompts = ["fine 1", "fine 2", "poison", "fine 3"]
    generator = FlakyGenerator(tiny_generator)
    with TestClient(create_app(settings, generator=generator)) as test_client:
        with ThreadPoolExecutor(4) as pool:
            body = {"steps": 1, "width": 64, "height": 64}
            answers = list(pool.map(lambda p: test_client.post("/image/", json={"prompt": p} | body), prompts))
        assert [a.status_code for a in answers] == [200, 200, 500, 200]
        assert generator.batch_sizes == [4, 1, 1, 1, 1]
        assert sorted(i["prompt"] for i in test_client.get("/image/").json()) == ["fine 1", "fine 2", "fine 3"]


def test_a_generation_past_the_timeout_is_a_500_that_says_so(make_held_client):
    held = make_held_client(pixy_generation_timeout=0.2)
    response = held.client.post("/image/", json={"prompt": "never in time", "steps": 1})
    assert response.status_code == 500
    assert "timed out" in response.json()["detail"]
    held.release()
    assert held.client.get("/image/").json() == []


def test_openai_n_is_all_or_nothing_when_the_third_image_fails(client):
    body = {"prompt": "third fails", "n": 4, "size": "64x64", "seed": 10, "steps": 1}
    response = client.post("/v1/images/generations", json=body)
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "server_error"
    assert client.get("/image/").json() == []
