"""The gallery page: plain HTML and JavaScript over the JSON API.

``GET /`` serves the page and ``GET /static/{name}`` its few assets. Only the files named in
``ASSETS`` are served, so no path from a client ever reaches the filesystem. The page itself
needs no API key: it asks for one when the JSON API answers 401.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from core.exceptions import AssetNotFound

router = APIRouter(tags=["gallery"], include_in_schema=False)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
ASSETS: dict[str, str] = {
    "gallery.js": "text/javascript; charset=utf-8",
    "jobs.js": "text/javascript; charset=utf-8",
    "gallery.css": "text/css; charset=utf-8",
}
# Revalidate on every load (the ETag keeps that cheap), so a deploy is seen at once.
NO_CACHE = {"Cache-Control": "no-cache"}


@router.get("/", response_class=HTMLResponse)
def gallery_page() -> FileResponse:
    """The gallery: generate images and browse the recent ones."""
    return FileResponse(STATIC_DIR / "gallery.html", media_type="text/html; charset=utf-8", headers=NO_CACHE)


@router.get("/static/{name}", response_class=FileResponse)
def gallery_asset(name: str) -> FileResponse:
    """A script or stylesheet of the gallery page."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise AssetNotFound()
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers=NO_CACHE)
