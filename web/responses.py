"""How stored content goes out: streamed from what the store fetched, never re-opened by path."""

from __future__ import annotations

from fastapi import Response
from fastapi.responses import StreamingResponse

from core.content import CHUNK_BYTES, ImageContent

PNG = "image/png"
# Content up to this size is read at once (the route runs on a worker thread) and sent in one piece: a
# stream costs a threadpool hop per chunk, which was most of the route's time beyond its MySQL read.
INLINE_BYTES = 4 * CHUNK_BYTES


def png_response(
    content: ImageContent, *, headers: dict[str, str], head: bool = False, media_type: str = PNG
) -> Response:
    """Called on a worker thread: small content is read here."""
    # Not FileResponse: it opens the path again when sending, after a delete may have removed it.
    headers = headers | {"Content-Length": str(content.size)}
    if head:
        content.close()
        return Response(media_type=media_type, headers=headers)
    if content.size <= INLINE_BYTES:
        return Response(content.read(), media_type=media_type, headers=headers)
    return StreamingResponse(content.chunks(), media_type=media_type, headers=headers)
