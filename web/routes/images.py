"""The agreed image API: create, list, detail, content, and delete."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response

from core.cursor import decode_cursor
from core.models import GenerationRequest, ImageDetail, PageQuery
from core.variants import VariantSpec
from web.deps import IdempotencyKey, ImageServiceDep, JobServiceDep, SettingsDep, VariantServiceDep
from web.disconnect import run_while_connected
from web.paging import Limit, Marker, Offset, link_next
from web.responses import png_response

router = APIRouter(prefix="/image", tags=["images"])
IMMUTABLE = "public, max-age=31536000, immutable"
# With keys, a shared cache must not hand one key holder's image to a client without a key.
KEYED = {"Cache-Control": "private, max-age=31536000, immutable", "Vary": "Authorization, X-API-Key"}


def _cache_headers(*, keyed: bool) -> dict[str, str]:
    return dict(KEYED) if keyed else {"Cache-Control": IMMUTABLE}


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: weak comparison, a list of tags, or any."""
    tags = {tag.strip().removeprefix("W/") for tag in (if_none_match or "").split(",")}
    return "*" in tags or etag in tags


@router.post("/", response_model=ImageDetail)
@router.post("", response_model=ImageDetail, include_in_schema=False)
async def create_image(
    request: Request, body: GenerationRequest, jobs: JobServiceDep, idempotency_key: IdempotencyKey = None
) -> ImageDetail:
    """Generate one image from a prompt, store it and return its details (a job, awaited)."""
    run = lambda gone: jobs.run(body, abandoned=gone, idempotency_key=idempotency_key)  # noqa: E731
    return (await run_while_connected(request, run))[0]


@router.get("/", response_model=list[ImageDetail])
@router.get("", response_model=list[ImageDetail], include_in_schema=False)
def list_images(
    request: Request,
    response: Response,
    service: ImageServiceDep,
    limit: Limit = 100,
    offset: Offset = 0,
    before: Marker = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Marker = None,
) -> list[ImageDetail]:
    """Images newest first, as a bare JSON array; paging goes in the query and the headers."""
    position = decode_cursor(cursor) if cursor else None
    page = PageQuery(limit=limit, offset=offset, q=q or None, before=before or None, before_id=position)
    images, next_cursor = service.list_page(page)
    response.headers["X-Total-Count"] = str(service.count(page.q))
    if len(images) == limit:
        # A cursor (a position) rather than before=<guid>: deleting that image must not end the paging.
        after = {"cursor": next_cursor} if next_cursor else {"before": images[-1].guid}
        link_next(request, response, {"limit": limit} | after | ({"q": q} if q else {}))
    return images


@router.get("/{guid}", response_model=ImageDetail)
def get_image(guid: str, service: ImageServiceDep) -> ImageDetail:
    """One image's details."""
    return service.get(guid)


@router.delete("/{guid}", status_code=204, response_class=Response)
def delete_image(guid: str, service: ImageServiceDep) -> Response:
    """Remove an image's row and content together."""
    service.delete(guid)
    return Response(status_code=204)


@router.api_route("/{guid}/content", methods=["GET", "HEAD"], response_class=Response)
def get_image_content(
    request: Request,
    guid: str,
    service: ImageServiceDep,
    variants: VariantServiceDep,
    settings: SettingsDep,
    if_none_match: Annotated[str | None, Header()] = None,
    format_: Annotated[Literal["png", "jpeg", "webp"] | None, Query(alias="format")] = None,
    width: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """The image's PNG bytes, cacheable forever: content never changes under a guid.

    ``format`` (png, jpeg, webp) and ``width`` (a thumbnail of one of PIXY_VARIANT_WIDTHS, never wider than the
    image) ask for a
    variant, made once and kept, with its own ETag.
    """
    if format_ is None and width is None:
        content, media_type = service.content(guid), "image/png"
    else:
        content, media_type = variants.content(guid, VariantSpec(format_ or "png", width))
    etag = f'"{content.sha256}"'
    headers = {"ETag": etag} | _cache_headers(keyed=bool(settings.api_keys))
    if _matches(if_none_match, etag):
        content.close()
        return Response(status_code=304, headers=headers)
    return png_response(content, headers=headers, head=request.method == "HEAD", media_type=media_type)
