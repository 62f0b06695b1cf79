"""The official MCP client against a running server's ``/mcp``, as an assistant drives it."""

from __future__ import annotations

import base64
import io
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from PIL import Image


def with_session(url: str, body: Callable[[ClientSession], Awaitable[Any]], *, key: str | None = None) -> Any:
    """Run ``body`` in an initialized MCP session against ``url``/mcp."""

    async def main() -> Any:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        async with (
            httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(30, read=300)) as http,
            streamable_http_client(f"{url}/mcp", http_client=http) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await body(session)

    return anyio.run(main)


def texts(result) -> list[str]:
    return [block.text for block in result.content if block.type == "text"]


def decoded(result) -> Image.Image:
    """The result's one image block, which must be WebP, decoded."""
    [image] = [block for block in result.content if block.type == "image"]
    assert image.mimeType == "image/webp"
    picture = Image.open(io.BytesIO(base64.b64decode(image.data)))
    picture.load()
    return picture
