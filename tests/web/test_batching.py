"""Micro-batching joins concurrent compatible requests without changing anyone's picture."""

from __future__ import annotations

import io
import threading

import numpy as np
from PIL import Image

SEEDS = (10, 11, 12, 13)


def pixels(client, guid: str) -> np.ndarray:
    data = client.get(f"/image/{guid}/content").content
    return np.asarray(Image.open(io.BytesIO(data)), dtype=np.float64)


def generate_together(client, seeds) -> dict[int, dict]:
    results: dict[int, dict] = {}
    barrier = threading.Barrier(len(seeds))

    def one(seed: int) -> None:
        barrier.wait()
        response = client.post("/image/", json={"prompt": f"seed {seed}", "seed": seed, "steps": 3})
        assert response.status_code == 200, response.text
        results[seed] = response.json()

    threads = [threading.Thread(target=one, args=(seed,)) for seed in seeds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_a_seed_gives_the_same_picture_alone_or_in_a_batch_of_4(make_client):
    batched_client = make_client(pixy_max_batch=4, pixy_batch_wait_ms=2000)
    batched = generate_together(batched_client, SEEDS)
    assert 'pixy_generation_batch_size_bucket{le="4.0"} 1.0' in batched_client.get("/metrics").text
    alone_client = make_client(pixy_max_batch=1)
    for seed in SEEDS:
        alone = alone_client.post("/image/", json={"prompt": f"seed {seed}", "seed": seed, "steps": 3}).json()
        difference = np.abs(pixels(alone_client, alone["guid"]) - pixels(batched_client, batched[seed]["guid"]))
        assert difference.mean() < 1.0, f"seed {seed}: mean abs difference {difference.mean():.3f} of 255"
    assert len({pixels(batched_client, batched[s]["guid"]).tobytes() for s in SEEDS}) == len(SEEDS)


def test_incompatible_requests_are_not_batched_together(make_client):
    client = make_client(pixy_max_batch=4, pixy_batch_wait_ms=300)
    barrier = threading.Barrier(2)

    def one(steps: int) -> None:
        barrier.wait()
        assert client.post("/image/", json={"prompt": "x", "steps": steps}).status_code == 200

    threads = [threading.Thread(target=one, args=(steps,)) for steps in (2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    metrics = client.get("/metrics").text
    assert 'pixy_generation_batch_size_bucket{le="1.0"} 2.0' in metrics
