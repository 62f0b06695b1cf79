"""The MCP tools in process, through the SDK's client over memory: what each returns, its limits, its errors."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from mcp.shared.memory import create_connected_server_and_client_session
from mcp.types import CallToolResult

from web.mcp_server import LIST_MAX, build_server

SMALL = {"steps": 1, "width": 64, "height": 64}


def call(client, *calls: tuple[str, dict[str, Any]]) -> list[CallToolResult]:
    """Each (tool, arguments) called in turn in one session on ``client``'s app."""

    async def main() -> list[CallToolResult]:
        async with create_connected_server_and_client_session(build_server(client.app)) as session:
            return [await session.call_tool(tool, arguments) for tool, arguments in calls]

    return anyio.run(main)


def kinds(result: CallToolResult) -> list[str]:
    return [block.type for block in result.content]


def text(result: CallToolResult) -> str:
    [block] = [block for block in result.content if block.type == "text"]
    return block.text


def failing(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError("SELECT secret FROM images -- /srv/pixy/images")


@pytest.mark.parametrize(
    ("tool", "arguments", "service", "method"),
    [
        ("generate_image", {"prompt": "a fox", **SMALL}, "jobs", "run"),
        ("list_images", {}, "images", "list"),
        ("get_image", {"guid": "6b1f0c4e-2d6a-4c57-9a51-0c1b8f3e7a10"}, "images", "get"),
    ],
)
def test_an_unexpected_error_in_a_tool_is_told_as_internal_error_never_its_text(
    client, monkeypatch, tool, arguments, service, method
):
    monkeypatch.setattr(getattr(client.app.state.container, service), method, failing)
    [result] = call(client, (tool, arguments))
    assert result.isError
    assert text(result).endswith(": internal error")
    assert "secret" not in text(result) and "/srv" not in text(result)


def test_list_images_accepts_exactly_list_max_and_refuses_one_more(client):
    at_max, over = call(client, ("list_images", {"limit": LIST_MAX}), ("list_images", {"limit": LIST_MAX + 1}))
    assert not at_max.isError, at_max.content
    assert json.loads(text(at_max)) == []
    assert over.isError
    assert "limit" in text(over)


def test_get_image_without_include_image_returns_its_details_and_no_image(client):
    made = client.post("/image/", json={"prompt": "a quiet lake", **SMALL}).json()
    without, with_image = call(
        client,
        ("get_image", {"guid": made["guid"], "include_image": False}),
        ("get_image", {"guid": made["guid"]}),
    )
    assert not without.isError, without.content
    assert kinds(without) == ["text"]
    assert json.loads(text(without))["guid"] == made["guid"]
    assert kinds(with_image) == ["image", "text"]


def test_generate_image_runs_a_job_as_post_image_does(client, monkeypatch):
    jobs, routes = client.app.state.container.jobs, []
    run = jobs.run

    def recorded(request: Any, **options: Any) -> Any:
        routes.append(options.get("route"))
        return run(request, **options)

    monkeypatch.setattr(jobs, "run", recorded)
    [made] = call(client, ("generate_image", {"prompt": "a red fox", **SMALL}))
    assert not made.isError, made.content
    assert routes == ["mcp"]
    assert kinds(made) == ["image", "text"]
    assert made.content[0].mimeType == "image/webp"
    detail = json.loads(text(made))
    assert detail["content_url"] == f"/image/{detail['guid']}/content"  # no HTTP request, no public URL
    assert client.get(f"/image/{detail['guid']}").json()["prompt"] == "a red fox"
