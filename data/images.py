"""The image repository: metadata rows in ``images``, content through a ``ContentStore``."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod

from core.content import ImageContent
from core.models import ImageDetail, PageQuery
from data.connection import Pool
from data.errors import translate_errors
from data.storage import ContentStore
from data.write import Write

COLUMNS = (
    "guid, filename, prompt, negative_prompt, seed, steps, guidance_scale, "
    "width, height, model, created_at, generation_ms, init_image, strength, sampler, scheduler"
)
INSERT_IMAGE = (
    f"INSERT INTO images ({COLUMNS}, content_sha256, content_bytes) VALUES ("
    "%(guid)s, %(filename)s, %(prompt)s, %(negative_prompt)s, %(seed)s, %(steps)s, "
    "%(guidance_scale)s, %(width)s, %(height)s, %(model)s, %(created_at)s, "
    "%(generation_ms)s, %(init_image)s, %(strength)s, %(sampler)s, %(scheduler)s, %(content_sha256)s, "
    "%(content_bytes)s)"
)
SELECT_IMAGE = f"SELECT {COLUMNS} FROM images WHERE guid = %(guid)s"
SELECT_CONTENT_META = "SELECT content_sha256, content_bytes FROM images WHERE guid = %(guid)s"
SELECT_PAGE = f"SELECT id, {COLUMNS} FROM images {{where}} ORDER BY id DESC LIMIT %(limit)s OFFSET %(offset)s"
COUNT_IMAGES = "SELECT COUNT(*) AS n FROM images {where}"
SELECT_TOTAL = "SELECT total AS n FROM image_stats WHERE id = 1"
WHERE_PROMPT = "prompt LIKE %(q)s"
WHERE_BEFORE = "id < (SELECT id FROM images WHERE guid = %(before)s)"
WHERE_BEFORE_ID = "id < %(before_id)s"
DELETE_IMAGE = "DELETE FROM images WHERE guid = %(guid)s"
SELECT_ALL_GUIDS = "SELECT guid FROM images"
PING = "SELECT 1"


class ImageRepository(ABC):
    """What the service needs of a store of images. Every failure is a ``core`` exception."""

    @abstractmethod
    def add(self, image: ImageDetail, *, content: bytes, sha256: str) -> None: ...

    @abstractmethod
    def add_many(self, items: list[tuple[ImageDetail, bytes]]) -> None:
        """Add every image or none: one transaction."""

    @abstractmethod
    def get(self, guid: str) -> ImageDetail | None: ...

    @abstractmethod
    def list(self, page: PageQuery) -> list[ImageDetail]: ...

    def list_page(self, page: PageQuery) -> tuple[list[ImageDetail], int | None]:
        """The page, and the position of its last image for a cursor (None where the store keeps none)."""
        return self.list(page), None

    @abstractmethod
    def count(self, q: str | None = None) -> int: ...

    @abstractmethod
    def content(self, guid: str) -> ImageContent | None: ...

    @abstractmethod
    def delete(self, guid: str) -> bool: ...

    def ping(self) -> None:
        """Raise when the store cannot be reached."""


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _row(image: ImageDetail, content: bytes, sha256: str) -> dict:
    return image.model_dump() | {"content_sha256": sha256, "content_bytes": len(content)}


def where_clause(page: PageQuery) -> tuple[str, dict]:
    clauses, params = [], {}
    if page.q:
        clauses.append(WHERE_PROMPT)
        params["q"] = _like(page.q)
    if page.before:
        clauses.append(WHERE_BEFORE)
        params["before"] = page.before
    if page.before_id is not None:
        clauses.append(WHERE_BEFORE_ID)
        params["before_id"] = page.before_id
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


class MySQLImageRepository(ImageRepository):
    def __init__(self, pool: Pool, store: ContentStore) -> None:
        self.pool = pool
        self.store = store

    def add(self, image: ImageDetail, *, content: bytes, sha256: str, also: Write | None = None) -> None:
        row = _row(image, content, sha256)
        inserted = False
        try:
            with self.pool.transaction() as conn:
                with conn.cursor() as cur:
                    cur.execute(INSERT_IMAGE, row)
                inserted = True
                self.store.put(conn, image.guid, content)
                if also is not None:
                    with conn.cursor() as cur:
                        also.run(cur)
        except BaseException:
            if inserted:  # a refused row (a duplicate guid) must not take another image's content
                self.store.discard(image.guid)
            raise

    def add_many(self, items: list[tuple[ImageDetail, bytes]], *, also: Write | None = None) -> None:
        """Every image or none, in one transaction; content written before a failure is discarded."""
        rows = [_row(image, data, hashlib.sha256(data).hexdigest()) for image, data in items]
        inserted = False
        try:
            with self.pool.transaction() as conn:
                with conn.cursor() as cur:
                    cur.executemany(INSERT_IMAGE, rows)
                inserted = True
                self.store.put_many(conn, [(image.guid, data) for image, data in items])
                if also is not None:
                    with conn.cursor() as cur:
                        also.run(cur)
        except BaseException:
            if inserted:  # the guids were ours: no other image's content is touched
                for image, _ in items:
                    self.store.discard(image.guid)
            raise

    def ping(self) -> None:
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(PING)

    def get(self, guid: str) -> ImageDetail | None:
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(SELECT_IMAGE, {"guid": guid})
            row = cur.fetchone()
        return ImageDetail.model_validate(row) if row else None

    def list(self, page: PageQuery) -> list[ImageDetail]:
        return self.list_page(page)[0]

    def list_page(self, page: PageQuery) -> tuple[list[ImageDetail], int | None]:
        where, params = where_clause(page)
        params |= {"limit": page.limit, "offset": page.offset}
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(SELECT_PAGE.format(where=where), params)
            rows = cur.fetchall()
        return [ImageDetail.model_validate(row) for row in rows], (rows[-1]["id"] if rows else None)

    def count(self, q: str | None = None) -> int:
        """Without ``q``, the trigger-kept total (no scan); with it, a filtered count."""
        where, params = where_clause(PageQuery(q=q))
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(COUNT_IMAGES.format(where=where) if q else SELECT_TOTAL, params)
            row = cur.fetchone()
        return int(row["n"]) if row else 0

    def content(self, guid: str) -> ImageContent | None:
        with self.pool.connection() as conn:
            with conn.cursor() as cur:
                cur.execute(SELECT_CONTENT_META, {"guid": guid})
                meta = cur.fetchone()
            if not meta:
                return None
            return self.store.get(conn, guid, sha256=meta["content_sha256"], size=meta["content_bytes"])

    @translate_errors()
    def delete(self, guid: str) -> bool:
        """Row and content go together: content that cannot be removed keeps its row (a rollback)."""
        removed = False
        try:
            with self.pool.transaction() as conn, conn.cursor() as cur:
                if cur.execute(DELETE_IMAGE, {"guid": guid}) == 0:
                    return False
                self.store.remove(guid)
                removed = True
        except BaseException:
            if removed:  # the commit failed after the content was set aside
                self.store.restore(guid)
            raise
        self.store.purge(guid)
        return True

    @translate_errors()
    def sweep(self) -> list[str]:
        """Remove leftovers of interrupted writes; return the guids of content files with no row."""
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(SELECT_ALL_GUIDS)
            guids = [row["guid"] for row in cur.fetchall()]
        return self.store.sweep(guids)
