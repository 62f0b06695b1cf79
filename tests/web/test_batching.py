"""Micro-batching joins concurrent compatible requests without changing anyone's picture."""

from __future__ import annotations

import io
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

SEEDS = (10, 11, 12, 13)


def pixels(client, guid: str) -> np.ndarray:
    data = client.get(f"/image/{guid}/content").content
    return np.asarray(Image.open(io.BytesIO(data)), dtype=np.float64)


def batch_sizes(client) -> dict[str, float]:
    """The batch-size histogram from /metrics: cumulative counts per bucket, and the count."""
    text = client.get("/metrics").text
    buckets = dict(re.findall(r'pixy_generation_batch_size_bucket\{le="([^"]+)"\} (\S+)', text))
    count = re.search(r"pixy_generation_batch_size_count (\S+)", text)[1]
    return {le: float(n) for le, n in buckets.items()} | {"count": float(count)}


def post(client, **body):
    return client.post("/image/", json={"prompt": "x"} | body)


def generate_together(client, seeds) -> dict[int, dict]:
    barrier = threading.Barrier(len(seeds))

    def one(seed: int):
        barrier.wait()
        return client.post("/image/", json={"prompt": f"seed {seed}", "seed": seed, "steps": 3})

    with ThreadPoolExecutor(len(seeds)) as pool:
        responses = dict(zip(seeds, pool.map(one, seeds), strict=True))
    for response in responses.values():
        assert response.status_code == 200, response.text
    return {seed: response.json() for seed, response in responses.items()}


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


def test_incompatible_requests_are_not_batched_together(make_held_client):
    held = make_held_client(pixy_max_batch=4)
    with ThreadPoolExecutor(4) as pool:
        running = pool.submit(post, held.client, steps=1)
        held.wait_until_running()
        waiting = [pool.submit(post, held.client, steps=steps) for steps in (2, 3, 2)]
        held.wait_until_queued(3)
        held.release()
        responses = [future.result(timeout=120) for future in (running, *waiting)]
    assert [r.status_code for r in responses] == [200] * 4
    assert [r.json()["steps"] for r in responses] == [1, 2, 3, 2]
    sizes = batch_sizes(held.client)
    assert (sizes["1.0"], sizes["2.0"], sizes["count"]) == (2.0, 3.0, 3.0), "batches of 1, 1 and the two 2-steps"


def test_on_the_cpu_waiting_requests_are_batched_by_default(make_held_client, tiny_generator):
    if tiny_generator.info.device != "cpu":
        pytest.skip("the default batch of 4 is the CPU's; CUDA's is 1")
    held = make_held_client(pixy_max_batch=None)
    with ThreadPoolExecutor(4) as pool:
        running = pool.submit(post, held.client, steps=2)
        held.wait_until_running()
        waiting = [pool.submit(post, held.client, steps=2, seed=seed) for seed in (1, 2, 3)]
        held.wait_until_queued(3)
        held.release()
        responses = [future.result(timeout=120) for future in (running, *waiting)]
    assert [r.status_code for r in responses] == [200] * 4
    sizes = batch_sizes(held.client)
    assert (sizes["1.0"], sizes["4.0"], sizes["count"]) == (1.0, 2.0, 2.0), "one alone, then the three waiting"
