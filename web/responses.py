"""How stored content goes out: a file is sent as it is, anything else is streamed."""

from __future__ import annotations

from fastapi import Response
from fastapi.responses import FileResponse, StreamingResponse

from core.content import ImageContent

PNG = "image/png"


def png_response(content: ImageContent, *, headers: dict[str, str], head: bool = False) -> Response:
    if content.file is not None:
        return FileResponse(content.file, media_type=PNG, headers=headers)
    headers = headers | {"Content-Length": str(content.size)}
    if head:
        return Response(media_type=PNG, headers=headers)
    return StreamingResponse(content.chunks(), media_type=PNG, headers=headers)
