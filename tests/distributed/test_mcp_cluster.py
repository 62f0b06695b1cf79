"""MCP on the API processes of the distributed mode: generate_image runs on a GPU worker, as POST /image/ does."""

from __future__ import annotations

import io
import json

import httpx
from mcp import ClientSession
from PIL import Image

from tests.distributed.helpers import scalar_row
from tests.mcp_client import decoded, texts, with_session

SMALL = {"steps": 2, "width": 64, "height": 64, "seed": 11}


def test_generate_image_on_one_api_runs_on_a_worker_and_the_other_api_serves_and_lists_it(cluster):
    a, b = cluster.apis
    prompt = "an mcp fox in the cluster"

    async def generate(session: ClientSession):
        return await session.call_tool("generate_image", {"prompt": prompt, **SMALL})

    async def look_up(session: ClientSession):
        return await session.call_tool("list_images", {"q": prompt, "limit": 5})

    made = with_session(a.url, generate)
    assert not made.isError, made.content
    assert decoded(made).size == (64, 64)
    detail = json.loads(texts(made)[0])
    assert detail["prompt"] == prompt and detail["seed"] == 11
    guid = detail["guid"]

    # Stored where every API process reads it: the other port answers its details and its PNG.
    other = httpx.get(f"{b.url}/image/{guid}", timeout=30)
    assert other.status_code == 200, other.text
    assert other.json()["prompt"] == prompt
    png = httpx.get(f"{b.url}/image/{guid}/content", timeout=30)
    assert png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size == (64, 64)

    listed = with_session(b.url, look_up)
    assert not listed.isError, listed.content
    assert [item["guid"] for item in json.loads(texts(listed)[0])] == [guid]

    # A job like any other, and one of the workers ran it: the API processes have no generator.
    status, worker = scalar_row(
        cluster.settings, "SELECT status, worker FROM jobs WHERE images LIKE %(guid)s", {"guid": f"%{guid}%"}
    )
    assert status == "succeeded" and worker in cluster.workers
