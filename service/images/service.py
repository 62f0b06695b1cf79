"""The image service: what is stored, read back and deleted. Knows nothing of HTTP or of generating."""

from __future__ import annotations

from dataclasses import replace

from core.content import ImageContent
from core.cursor import encode_cursor
from core.exceptions import ImageNotFound
from core.ids import canonical_guid
from core.models import ImageDetail, PageQuery
from data.images import ImageRepository


def _canonical(page: PageQuery | None) -> PageQuery:
    page = page or PageQuery()
    return replace(page, before=canonical_guid(page.before)) if page.before is not None else page


class ImageService:
    def __init__(self, repository: ImageRepository) -> None:
        self.repository = repository

    def get(self, guid: str) -> ImageDetail:
        image = self.repository.get(canonical_guid(guid))
        if image is None:
            raise ImageNotFound()
        return image

    def list(self, page: PageQuery | None = None) -> list[ImageDetail]:
        return self.repository.list(_canonical(page))

    def list_page(self, page: PageQuery | None = None) -> tuple[list[ImageDetail], str | None]:
        """A page, and the cursor of the page after it: a position, so it survives a delete."""
        images, position = self.repository.list_page(_canonical(page))
        return images, (encode_cursor(position) if position is not None else None)

    def count(self, q: str | None = None) -> int:
        return self.repository.count(q)

    def content(self, guid: str) -> ImageContent:
        content = self.repository.content(canonical_guid(guid))
        if content is None:
            raise ImageNotFound()
        return content

    def ping(self) -> None:
        self.repository.ping()

    def delete(self, guid: str) -> None:
        if not self.repository.delete(canonical_guid(guid)):
            raise ImageNotFound()
