"""The agreed image API: create, list, detail and content."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse

from core.models import GenerationRequest, ImageDetail
from web.deps import ImageServiceDep

router = APIRouter(prefix="/image", tags=["images"])


@router.post("/", response_model=ImageDetail)
@router.post("", response_model=ImageDetail, include_in_schema=False)
def create_image(body: GenerationRequest, service: ImageServiceDep) -> ImageDetail:
    """Generate one image from a prompt, store it and return its details."""
    return service.create(body)


@router.get("/", response_model=list[ImageDetail])
@router.get("", response_model=list[ImageDetail], include_in_schema=False)
def list_images(service: ImageServiceDep) -> list[ImageDetail]:
    """All images, newest first, as a bare JSON array."""
    return service.list()


@router.get("/{guid}", response_model=ImageDetail)
def get_image(guid: str, service: ImageServiceDep) -> ImageDetail:
    """One image's details."""
    return service.get(guid)


@router.get("/{guid}/content", response_class=Response)
def get_image_content(guid: str, service: ImageServiceDep) -> Response:
    """The image's PNG bytes."""
    content = service.content(guid)
    if content.stored.path is not None:
        return FileResponse(content.stored.path, media_type="image/png")
    return Response(content.stored.data, media_type="image/png")
