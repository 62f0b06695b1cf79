"""Where PNG bytes live: files on disk, or a BLOB beside the row in MySQL."""

from __future__ import annotations

import logging
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from pathlib import Path

from pymysql.connections import Connection

from core.content import CHUNK_BYTES, ImageContent
from core.settings import Settings
from data.connection import Pool

logger = logging.getLogger(__name__)

INSERT_BLOB = "INSERT INTO image_blobs (guid, content) VALUES (%(guid)s, %(content)s)"
SELECT_BLOB_CHUNK = "SELECT SUBSTRING(content, %(start)s, %(size)s) AS chunk FROM image_blobs WHERE guid = %(guid)s"
SELECT_BLOB_EXISTS = "SELECT 1 AS present FROM image_blobs WHERE guid = %(guid)s"
TEMP_SUFFIX = ".part"


class ContentStore(ABC):
    """Called by the repository inside the row's transaction."""

    @abstractmethod
    def put(self, conn: Connection, guid: str, content: bytes) -> None: ...

    def put_many(self, conn: Connection, items: list[tuple[str, bytes]]) -> None:
        for guid, content in items:
            self.put(conn, guid, content)

    @abstractmethod
    def discard(self, guid: str) -> None:
        """Undo ``put`` after the transaction failed."""

    @abstractmethod
    def get(self, conn: Connection, guid: str, *, sha256: str, size: int) -> ImageContent | None: ...

    def remove(self, guid: str) -> None:
        """Drop content whose row is gone (the BLOB goes with the row by cascade)."""

    def sweep(self, known_guids: Iterable[str]) -> list[str]:
        """Remove leftovers of interrupted writes; return the orphans removed."""
        return []


class DiskStore(ContentStore):
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def path_for(self, guid: str) -> Path:
        return self.directory / f"{guid}.png"

    def put(self, conn: Connection, guid: str, content: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f"{guid}.", suffix=TEMP_SUFFIX)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path_for(guid))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def discard(self, guid: str) -> None:
        self.path_for(guid).unlink(missing_ok=True)

    def remove(self, guid: str) -> None:
        self.discard(guid)

    def get(self, conn: Connection, guid: str, *, sha256: str, size: int) -> ImageContent | None:
        path = self.path_for(guid)
        return ImageContent(sha256=sha256, size=size, file=path) if path.is_file() else None

    def sweep(self, known_guids: Iterable[str]) -> list[str]:
        for leftover in self.directory.glob(f"*{TEMP_SUFFIX}"):
            leftover.unlink(missing_ok=True)
        known = set(known_guids)
        orphans = [p for p in self.directory.glob("*.png") if p.stem not in known]
        for orphan in orphans:
            orphan.unlink(missing_ok=True)
        return [p.stem for p in orphans]


class MySQLStore(ContentStore):
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    def put_many(self, conn: Connection, items: list[tuple[str, bytes]]) -> None:
        with conn.cursor() as cur:
            cur.executemany(INSERT_BLOB, [{"guid": guid, "content": content} for guid, content in items])

    def put(self, conn: Connection, guid: str, content: bytes) -> None:
        with conn.cursor() as cur:
            cur.execute(INSERT_BLOB, {"guid": guid, "content": content})

    def discard(self, guid: str) -> None:
        """The rolled-back transaction already took the BLOB with it."""

    def get(self, conn: Connection, guid: str, *, sha256: str, size: int) -> ImageContent | None:
        with conn.cursor() as cur:
            cur.execute(SELECT_BLOB_EXISTS, {"guid": guid})
            if cur.fetchone() is None:
                return None
        return ImageContent(sha256=sha256, size=size, stream=lambda: self._stream(guid))

    def _stream(self, guid: str) -> Iterator[bytes]:
        """Read the BLOB a chunk at a time on a connection of its own, held only while sending."""
        with self.pool.connection() as conn:
            start = 1
            while True:
                with conn.cursor() as cur:
                    cur.execute(SELECT_BLOB_CHUNK, {"guid": guid, "start": start, "size": CHUNK_BYTES})
                    row = cur.fetchone()
                chunk = row["chunk"] if row else b""
                if chunk:
                    yield chunk
                if len(chunk) < CHUNK_BYTES:
                    return
                start += CHUNK_BYTES


def make_store(settings: Settings, pool: Pool) -> ContentStore:
    return MySQLStore(pool) if settings.pixy_storage == "mysql" else DiskStore(settings.pixy_images_dir)
