"""/mcp on the real server, driven by the official MCP client: tools, their schemas, errors and keys."""

from __future__ import annotations

import io
import json

import httpx
from mcp import ClientSession
from PIL import Image

from tests.e2e.conftest import start_server
from tests.mcp_client import decoded, texts, with_session

SMALL = {"steps": 2, "width": 64, "height": 64, "seed": 7}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}


def test_tools_are_listed_with_input_schemas_naming_their_fields(server):
    async def body(session: ClientSession):
        return {tool.name: tool.inputSchema for tool in (await session.list_tools()).tools}

    schemas = with_session(server.url, body)
    assert set(schemas) == {"generate_image", "list_images", "get_image", "list_models"}
    generate = schemas["generate_image"]
    assert set(generate["properties"]) == {
        "prompt",
        "negative_prompt",
        "seed",
        "steps",
        "guidance_scale",
        "width",
        "height",
        "model",
        "sampler",
        "scheduler",
    }
    assert schemas["list_models"].get("properties", {}) == {}
    assert generate["required"] == ["prompt"]
    assert generate["properties"]["prompt"]["type"] == "string"
    assert set(schemas["list_images"]["properties"]) == {"q", "limit"}
    assert schemas["get_image"]["required"] == ["guid"]


def test_generate_list_and_get_call_the_same_service_as_http(server):
    async def body(session: ClientSession):
        made = await session.call_tool("generate_image", {"prompt": "a red fox", **SMALL})
        listed = await session.call_tool("list_images", {"q": "fox", "limit": 5})
        guid = json.loads(texts(made)[0])["guid"]
        got = await session.call_tool("get_image", {"guid": guid})
        return made, listed, got

    made, listed, got = with_session(server.url, body)
    assert not made.isError, made.content
    assert decoded(made).size == (64, 64)
    detail = json.loads(texts(made)[0])
    assert detail["prompt"] == "a red fox" and detail["seed"] == 7
    assert detail["content_url"] == f"{server.url}/image/{detail['guid']}/content"
    # The tool stored it where the HTTP API finds it, and the URL serves the full PNG.
    assert httpx.get(f"{server.url}/image/{detail['guid']}").json()["prompt"] == "a red fox"
    png = httpx.get(detail["content_url"])
    assert png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size == (64, 64)

    assert not listed.isError
    assert [item["guid"] for item in json.loads(texts(listed)[0])] == [detail["guid"]]
    assert not got.isError
    assert json.loads(texts(got)[0]) == detail
    assert decoded(got).size == (64, 64)


def test_mcp_requests_log_two_lines_each_under_their_route(server):
    async def body(session: ClientSession):
        await session.list_tools()
        await session.call_tool("list_images", {})

    with_session(server.url, body)
    lines = server.lines()
    ends = [line for line in lines if "REQUEST END POST /mcp " in line]
    assert len(ends) >= 3 and all(" route=/mcp " in line for line in ends)
    for end in ends:
        request_id = end.split()[3]
        assert sum(f" {request_id} " in line for line in lines) == 2


def test_bad_arguments_are_tool_errors_not_server_errors(server):
    async def body(session: ClientSession):
        return [
            await session.call_tool("generate_image", {"prompt": "x", "steps": "many"}),
            await session.call_tool("generate_image", {"prompt": "x", "width": 65}),
            await session.call_tool("generate_image", {"prompt": "x", "steps": 100000}),
            await session.call_tool("get_image", {"guid": "not-a-guid"}),
            await session.call_tool("list_images", {"limit": 0}),
        ]

    wrong_type, odd_width, over_limit, unknown, zero = with_session(server.url, body)
    for result in (wrong_type, odd_width, over_limit, unknown, zero):
        assert result.isError
    assert "steps" in texts(wrong_type)[0]
    assert "width" in texts(odd_width)[0]
    assert "steps" in texts(over_limit)[0]  # the service's own limit, its safe message
    assert "image not found" in texts(unknown)[0]
    for result in (wrong_type, odd_width, over_limit, unknown, zero):
        assert "Traceback" not in texts(result)[0]
    assert "Traceback" not in server.tail(100_000)


def test_keyed_mcp_refuses_a_client_without_the_key(settings, tmp_path):
    running = start_server(settings, tmp_path, PIXY_API_KEYS="s3cret")
    try:
        refused = httpx.post(f"{running.url}/mcp", json=INITIALIZE, headers={"Accept": "application/json"})
        assert refused.status_code == 401
        assert refused.json()["detail"] == "missing or invalid API key"
        wrong = httpx.post(f"{running.url}/mcp", json=INITIALIZE, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401

        async def body(session: ClientSession):
            return [tool.name for tool in (await session.list_tools()).tools]

        assert "generate_image" in with_session(running.url, body, key="s3cret")
    finally:
        running.stop()
