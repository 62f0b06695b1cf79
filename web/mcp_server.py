"""``/mcp``: the Model Context Protocol's streamable HTTP transport, so assistants can call PixyProxy as tools.

Built on the official SDK's FastMCP. The tools call the same services as the HTTP routes, in a thread:
``generate_image`` runs a job as ``POST /image/`` does (so it works where a worker generates), the reads ask
the ``ImageService``. Their ``ImageException`` becomes a tool error with the safe message. Stateless and
JSON: every POST stands alone, so any worker can answer it and nothing is kept between calls.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from typing import Annotated, Any

from anyio import to_thread
from fastapi import FastAPI
from mcp.server.fastmcp import Context, FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ContentBlock, ImageContent, TextContent
from pydantic import Field
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from core.exceptions import ImageException
from core.models import SEED_MAX, ImageDetail, PageQuery
from core.samplers import Sampler, Schedule
from core.variants import VariantSpec
from service.images.service import ImageService
from service.images.variants import encode_variant
from service.jobs.service import JobService
from web.urls import content_url, public_base_url

logger = logging.getLogger(__name__)

PATH = "/mcp"
LIST_MAX = 100
# Every inline byte costs an assistant's context: a 1024x1024 PNG of a megabyte or more becomes tens of KB,
# and the full PNG stays one content URL away.
INLINE_SPEC = VariantSpec("webp")
INLINE_MAX_SIDE = 512
INLINE_QUALITY = 80
INSTRUCTIONS = (
    "PixyProxy makes images from text prompts and remembers them. generate_image returns a small WebP "
    "preview, the image's guid and the URL of its full PNG; list_images and get_image look up earlier ones."
)


@contextmanager
def _tool_errors() -> Iterator[None]:
    """Service errors carry a client-safe message; anything else is logged here and told only as 'internal'."""
    try:
        yield
    except ImageException as exc:
        raise ToolError(exc.message) from None
    except Exception:
        logger.exception("MCP tool failed")
        raise ToolError("internal error") from None


async def _in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    # The service blocks on the worker and MySQL: never on the event loop.
    return await to_thread.run_sync(partial(fn, *args, **kwargs))


def _content_url(app: FastAPI, ctx: Context, guid: str) -> str:
    return content_url(public_base_url(ctx.request_context.request, app.state.settings), guid)


def _described(detail: ImageDetail, url: str) -> TextContent:
    return TextContent(type="text", text=json.dumps(detail.model_dump(mode="json") | {"content_url": url}))


async def _inline_image(service: ImageService, guid: str) -> ImageContent:
    def read() -> bytes:
        png = service.content(guid).read()
        return encode_variant(png, INLINE_SPEC, quality=INLINE_QUALITY, max_side=INLINE_MAX_SIDE)

    data = await _in_thread(read)
    return ImageContent(type="image", data=base64.b64encode(data).decode("ascii"), mimeType=INLINE_SPEC.media_type)


def build_server(app: FastAPI) -> FastMCP:
    """The tools, reaching the service through the app's container as the routes do through ``web.deps``."""
    server = FastMCP(
        "PixyProxy",
        instructions=INSTRUCTIONS,
        streamable_http_path=PATH,
        stateless_http=True,
        json_response=True,
        # The SDK's Host check only knows localhost names; PixyProxy serves all interfaces and its
        # API keys (web/security.py) guard /mcp as they guard every other route.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )

    def images() -> ImageService:
        return app.state.container.images

    def jobs() -> JobService:
        return app.state.container.jobs

    @server.tool(structured_output=False)
    async def generate_image(
        ctx: Context,
        prompt: Annotated[str, Field(min_length=1, description="What the image shows")],
        negative_prompt: Annotated[str | None, Field(description="What it should not show")] = None,
        seed: Annotated[int | None, Field(ge=0, le=SEED_MAX, description="Same seed, same image")] = None,
        steps: Annotated[int | None, Field(ge=1, description="Denoising steps; the model's default if unset")] = None,
        guidance_scale: Annotated[float | None, Field(ge=0, description="How closely to follow the prompt")] = None,
        width: Annotated[int | None, Field(ge=64, multiple_of=8, description="Pixels, a multiple of 8")] = None,
        height: Annotated[int | None, Field(ge=64, multiple_of=8, description="Pixels, a multiple of 8")] = None,
        model: Annotated[str | None, Field(description="A model id from list_models; the default if unset")] = None,
        sampler: Annotated[Sampler | None, Field(description="A1111's sampler name; the model's own if unset")] = None,
        scheduler: Annotated[Schedule | None, Field(description="The noise schedule")] = None,
    ) -> list[ContentBlock]:
        """Generate an image from a prompt and store it. Returns a WebP preview, then its details and URL."""
        request = {
            "prompt": prompt,
            "negative_prompt": negative_prompt,
            "seed": seed,
            "steps": steps,
            "guidance_scale": guidance_scale,
            "width": width,
            "height": height,
            "model": model,
            "sampler": sampler,
            "scheduler": scheduler,
        }
        with _tool_errors():
            [detail] = await _in_thread(jobs().run, request, route="mcp")
            preview = await _inline_image(images(), detail.guid)
        return [preview, _described(detail, _content_url(app, ctx, detail.guid))]

    @server.tool(structured_output=False)
    async def list_models() -> list[ContentBlock]:
        """The models this server serves: id, family, whether default, available (or why not), loaded, defaults."""
        with _tool_errors():
            models = await _in_thread(app.state.container.list_models)
        return [TextContent(type="text", text=json.dumps(models))]

    @server.tool(structured_output=False)
    async def list_images(
        ctx: Context,
        q: Annotated[str | None, Field(description="Only images whose prompt contains this text")] = None,
        limit: Annotated[int, Field(ge=1, le=LIST_MAX, description="How many, newest first")] = 20,
    ) -> list[ContentBlock]:
        """List stored images, newest first, as a JSON array of their details."""
        with _tool_errors():
            found = await _in_thread(images().list, PageQuery(limit=limit, q=q or None))
        items = [
            detail.model_dump(mode="json") | {"content_url": _content_url(app, ctx, detail.guid)} for detail in found
        ]
        return [TextContent(type="text", text=json.dumps(items))]

    @server.tool(structured_output=False)
    async def get_image(
        ctx: Context,
        guid: Annotated[str, Field(description="The image's guid, as generate_image or list_images gave it")],
        include_image: Annotated[bool, Field(description="Also return a WebP preview")] = True,
    ) -> list[ContentBlock]:
        """One stored image's details (JSON), and a WebP preview of it unless include_image is false."""
        with _tool_errors():
            detail = await _in_thread(images().get, guid)
            preview = [await _inline_image(images(), detail.guid)] if include_image else []
        return [*preview, _described(detail, _content_url(app, ctx, detail.guid))]

    return server


class _Endpoint:
    """The ASGI app at ``/mcp``: hands each request to the session manager of the running lifespan."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["route"] = PATH  # the request log's and the metrics' route label
        await self.app.state.mcp.session_manager.handle_request(scope, receive, send)


def mount(app: FastAPI) -> None:
    """Route ``/mcp`` (and ``/mcp/``: no slash redirects here) to the MCP transport."""
    endpoint = _Endpoint(app)
    app.router.routes.extend([Route(PATH, endpoint), Route(PATH + "/", endpoint)])


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[None]:
    """Run the transport's session manager for one lifespan (a manager runs only once, so each gets its own)."""
    # The SDK logs each message at INFO: that would put lines between a request's START and END.
    logging.getLogger("mcp").setLevel(logging.WARNING)
    server = build_server(app)
    server.streamable_http_app()  # creates the session manager
    app.state.mcp = server
    async with server.session_manager.run():
        yield
