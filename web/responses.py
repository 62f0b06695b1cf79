"""How stored content goes out: streamed from what the store fetched, never re-opened by path."""

from __future__ import annotations

from fastapi import Response
from fastapi.responses import StreamingResponse

from core.content import ImageContent

PNG = "image/png"


def png_response(
    content: ImageContent, *, headers: dict[str, str], head: bool = False, media_type: str = PNG
) -> Response:
    # Not FileResponse: it opens the path again when sending, after a delete may have removed it.
    headers = headers | {"Content-Length": str(content.size)}
    if head:
        content.close()
        return Response(media_type=media_type, headers=headers)
    return StreamingResponse(content.chunks(), media_type=media_type, headers=headers)
