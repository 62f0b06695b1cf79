"""Where PNG bytes live: files on disk, or a BLOB beside the row in MySQL."""

from __future__ import annotations

import logging
import os
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import suppress
from pathlib import Path

from pymysql.connections import Connection

from core.content import CHUNK_BYTES, ImageContent
from core.settings import Settings
from data.connection import Pool

logger = logging.getLogger(__name__)

INSERT_BLOB = "INSERT INTO image_blobs (guid, content) VALUES (%(guid)s, %(content)s)"
SELECT_BLOB_CHUNK = "SELECT SUBSTRING(content, %(start)s, %(size)s) AS chunk FROM image_blobs WHERE guid = %(guid)s"
# A locking read sees the latest commit, not the caller's snapshot: a BLOB a migration copied since then.
SELECT_BLOB_CHUNK_LATEST = SELECT_BLOB_CHUNK + " LOCK IN SHARE MODE"
TEMP_SUFFIX = ".part"
TRASH_SUFFIX = ".deleting"
# Derived images (data/variants.py) are ``<guid>.<width>.<fmt>`` beside the PNG and go with it.
VARIANT_SUFFIXES = (".png", ".jpeg", ".webp")


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

    def get_latest(self, conn: Connection, guid: str, *, sha256: str, size: int) -> ImageContent | None:
        """``get``, seeing content written since the caller's transaction began."""
        return self.get(conn, guid, sha256=sha256, size=size)

    def remove(self, guid: str) -> None:
        """Set the content aside inside the transaction deleting its row: raising keeps the row.

        The BLOB goes with the row by cascade, so by default there is nothing to do.
        """

    def restore(self, guid: str) -> None:
        """Undo ``remove`` after the transaction failed."""

    def purge(self, guid: str) -> None:
        """Drop what ``remove`` set aside, once the row is gone for good; must not raise."""

    def sweep(self, known_guids: Iterable[str]) -> list[str]:
        """Remove leftovers of interrupted writes; return the orphans removed."""
        return []


class DiskStore(ContentStore):
    def __init__(self, directory: Path, *, create: bool = True) -> None:
        self.directory = directory
        if create:
            directory.mkdir(parents=True, exist_ok=True)

    def path_for(self, guid: str) -> Path:
        return self.directory / f"{guid}.png"

    def put(self, conn: Connection, guid: str, content: bytes) -> None:
        # The guid is unique and the suffix unique per call: no need for mkstemp's random names (~2% of a
        # stored image's time under the GIL); O_EXCL still refuses to write over anything.
        tmp = self.directory / f"{guid}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb", buffering=0) as handle:
                view = memoryview(content)
                while view:
                    view = view[handle.write(view) :]
                os.fsync(handle.fileno())
            os.replace(tmp, self.path_for(guid))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def discard(self, guid: str) -> None:
        self.path_for(guid).unlink(missing_ok=True)

    def trash_for(self, guid: str) -> Path:
        return self.directory / f"{guid}{TRASH_SUFFIX}"

    def remove(self, guid: str) -> None:
        # A rename, not an unlink: if the commit then fails, restore() puts the file back.
        with suppress(FileNotFoundError):
            os.replace(self.path_for(guid), self.trash_for(guid))

    def restore(self, guid: str) -> None:
        try:
            os.replace(self.trash_for(guid), self.path_for(guid))
        except FileNotFoundError:
            pass
        except OSError as exc:
            logger.error("could not restore the content of %s (%s); the next start's sweep does", guid, exc.strerror)

    def variant_files(self, guid: str) -> list[Path]:
        return [p for p in self.directory.glob(f"{guid}.*.*") if p.suffix in VARIANT_SUFFIXES]

    def purge(self, guid: str) -> None:
        try:
            self.trash_for(guid).unlink(missing_ok=True)
            for variant in self.variant_files(guid):
                variant.unlink(missing_ok=True)
        except OSError as exc:
            logger.warning("deleted %s but not its file (%s); the next start's sweep removes it", guid, exc.strerror)

    def get(self, conn: Connection, guid: str, *, sha256: str, size: int) -> ImageContent | None:
        path = self.path_for(guid)
        try:
            handle = path.open("rb")  # opened now: a delete from here on cannot cut the response short
        except FileNotFoundError:  # deleted since the row was read
            return None
        return ImageContent(sha256=sha256, size=size, file=path, handle=handle)

    def sweep(self, known_guids: Iterable[str]) -> list[str]:
        for leftover in self.directory.glob(f"*{TEMP_SUFFIX}"):
            leftover.unlink(missing_ok=True)
        known = set(known_guids)
        for trashed in self.directory.glob(f"*{TRASH_SUFFIX}"):  # a delete that stopped before its commit
            if trashed.stem in known:
                self.restore(trashed.stem)
        orphans = [p for p in self.directory.glob(f"*{TRASH_SUFFIX}")]
        orphans += [p for p in self.directory.glob("*.png") if p.stem not in known and "." not in p.stem]
        variants = [p for p in self.directory.glob("*.*.*") if p.suffix in VARIANT_SUFFIXES]
        for orphan in orphans + [p for p in variants if p.name.split(".", 1)[0] not in known]:
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
        """The whole BLOB, read on the caller's connection, in the snapshot that saw the row.

        Read now rather than while sending: a delete cannot cut the response short, and a slow client
        holds no connection. The size is bounded by the generation limits (PIXY_MAX_PIXELS).
        """
        return self._content(conn, guid, sha256, SELECT_BLOB_CHUNK)

    def get_latest(self, conn: Connection, guid: str, *, sha256: str, size: int) -> ImageContent | None:
        return self._content(conn, guid, sha256, SELECT_BLOB_CHUNK_LATEST)

    def _content(self, conn: Connection, guid: str, sha256: str, sql: str) -> ImageContent | None:
        chunks = list(self._read(conn, guid, sql))
        if not chunks:
            return None
        data = b"".join(chunks)
        return ImageContent(sha256=sha256, size=len(data), stream=lambda: _pieces(data))

    def _read(self, conn: Connection, guid: str, sql: str) -> Iterator[bytes]:
        """Chunk by chunk, so no single packet approaches max_allowed_packet."""
        start = 1
        while True:
            with conn.cursor() as cur:
                cur.execute(sql, {"guid": guid, "start": start, "size": CHUNK_BYTES})
                row = cur.fetchone()
            if row is None:
                return
            yield row["chunk"]
            if len(row["chunk"]) < CHUNK_BYTES:
                return
            start += CHUNK_BYTES


def _pieces(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), CHUNK_BYTES):
        yield bytes(view[start : start + CHUNK_BYTES])


class FallbackStore(ContentStore):
    """The configured store, reading through to the other one for images it lacks.

    After ``PIXY_STORAGE`` changes, and while ``python -m data.migrate`` moves content across (data/migrate.py),
    an image lives on either side. Writes go to ``primary`` only; deletes remove both sides.
    """

    def __init__(self, primary: ContentStore, secondary: ContentStore) -> None:
        self.primary = primary
        self.secondary = secondary

    def put(self, conn: Connection, guid: str, content: bytes) -> None:
        self.primary.put(conn, guid, content)

    def put_many(self, conn: Connection, items: list[tuple[str, bytes]]) -> None:
        self.primary.put_many(conn, items)

    def discard(self, guid: str) -> None:
        self.primary.discard(guid)

    def get(self, conn: Connection, guid: str, *, sha256: str, size: int) -> ImageContent | None:
        found = self.primary.get(conn, guid, sha256=sha256, size=size)
        if found is None:
            found = self.secondary.get_latest(conn, guid, sha256=sha256, size=size)
        if found is None:  # a migration may have copied it here and removed it there between the two looks
            found = self.primary.get_latest(conn, guid, sha256=sha256, size=size)
        return found

    def remove(self, guid: str) -> None:
        self.primary.remove(guid)
        try:
            self.secondary.remove(guid)
        except BaseException:
            self.primary.restore(guid)
            raise

    def restore(self, guid: str) -> None:
        self.primary.restore(guid)
        self.secondary.restore(guid)

    def purge(self, guid: str) -> None:
        self.primary.purge(guid)
        self.secondary.purge(guid)

    def sweep(self, known_guids: Iterable[str]) -> list[str]:
        known = list(known_guids)
        return self.primary.sweep(known) + self.secondary.sweep(known)


def make_store(settings: Settings, pool: Pool) -> ContentStore:
    """The store ``PIXY_STORAGE`` names, falling back to the other for content not moved yet."""
    disk = DiskStore(settings.pixy_images_dir, create=settings.pixy_storage == "disk")
    if settings.pixy_storage == "mysql":
        return FallbackStore(MySQLStore(pool), disk)
    return FallbackStore(disk, MySQLStore(pool))
