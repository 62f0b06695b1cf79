"""Each content store as a whole side of a move (``python -m data.migrate``): what it holds, copies in, lets go.

The service reads through ``data.storage``; these look past it, at the files and BLOBs themselves.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from pymysql.connections import Connection

from data.storage import ContentStore, DiskStore, MySQLStore

SELECT_BLOB_HASHES = "SELECT guid, SHA2(content, 256) AS sha256 FROM image_blobs WHERE guid IN %(guids)s"
UPSERT_BLOB = (
    "INSERT INTO image_blobs (guid, content) VALUES (%(guid)s, %(content)s) "
    "ON DUPLICATE KEY UPDATE content = VALUES(content)"
)
DELETE_BLOBS = "DELETE FROM image_blobs WHERE guid IN %(guids)s"
# Thumbnails go with the side they were made on; the other side makes its own on the next request.
DELETE_VARIANT_ROWS = "DELETE FROM image_variants WHERE guid IN %(guids)s"
# Not the service's ``.part``: its start-up sweep must not take a copy in flight, and ours are ours to clear.
COPY_SUFFIX = ".migrating"


@dataclass(frozen=True)
class Row:
    """An image as a move sees it: ``sha256`` is what its content must hash to (``images.content_sha256``)."""

    id: int
    guid: str
    sha256: str
    size: int


class Side(ABC):
    name: str
    store: ContentStore

    @abstractmethod
    def verified(self, conn: Connection, rows: list[Row]) -> set[str]:
        """The guids among ``rows`` whose content is here and hashes to the row's sha256."""

    def read(self, conn: Connection, row: Row) -> bytes | None:
        content = self.store.get_latest(conn, row.guid, sha256=row.sha256, size=row.size)
        return content.read() if content is not None else None

    @abstractmethod
    def write(self, conn: Connection, items: list[tuple[str, bytes]]) -> None:
        """Keep these, replacing what is there; called inside the transaction that holds their rows."""

    @abstractmethod
    def remove(self, conn: Connection, guids: list[str]) -> None:
        """Let go of these images' content and their derived variants."""

    def clear_leftovers(self) -> None:
        """Drop what a killed run left half-written."""


class DiskSide(Side):
    name = "disk"

    def __init__(self, directory: Path) -> None:
        self.store = DiskStore(directory)
        self.directory = directory

    def verified(self, conn: Connection, rows: list[Row]) -> set[str]:
        return {row.guid for row in rows if _file_sha256(self.store.path_for(row.guid)) == row.sha256}

    def write(self, conn: Connection, items: list[tuple[str, bytes]]) -> None:
        for guid, content in items:
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f"{guid}.", suffix=COPY_SUFFIX)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(content)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.store.path_for(guid))
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        _fsync_directory(self.directory)  # the renames are durable before anything trusts them

    def remove(self, conn: Connection, guids: list[str]) -> None:
        for guid in guids:
            self.store.path_for(guid).unlink(missing_ok=True)
            for variant in self.store.variant_files(guid):
                variant.unlink(missing_ok=True)

    def clear_leftovers(self) -> None:
        for leftover in self.directory.glob(f"*{COPY_SUFFIX}"):
            leftover.unlink(missing_ok=True)


class MySQLSide(Side):
    name = "mysql"

    def __init__(self, store: MySQLStore) -> None:
        self.store = store

    def verified(self, conn: Connection, rows: list[Row]) -> set[str]:
        if not rows:
            return set()
        expected = {row.guid: row.sha256 for row in rows}
        with conn.cursor() as cur:  # hashed by the server: nothing crosses the wire to be checked
            cur.execute(SELECT_BLOB_HASHES, {"guids": list(expected)})
            return {found["guid"] for found in cur.fetchall() if found["sha256"] == expected[found["guid"]]}

    def write(self, conn: Connection, items: list[tuple[str, bytes]]) -> None:
        with conn.cursor() as cur:
            cur.executemany(UPSERT_BLOB, [{"guid": guid, "content": content} for guid, content in items])

    def remove(self, conn: Connection, guids: list[str]) -> None:
        if guids:
            with conn.cursor() as cur:
                cur.execute(DELETE_BLOBS, {"guids": guids})
                cur.execute(DELETE_VARIANT_ROWS, {"guids": guids})


def _file_sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
