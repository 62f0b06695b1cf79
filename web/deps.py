"""Dependencies: the only way routes reach the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.images import ImageService


async def get_image_service(request: Request) -> ImageService:
    return request.app.state.image_service


ImageServiceDep = Annotated[ImageService, Depends(get_image_service)]
