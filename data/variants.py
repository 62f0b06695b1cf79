"""Derived images kept once made: files ``<guid>.<width>.<fmt>`` beside the PNG, or rows in ``image_variants``.

A variant is found only through its image's row, so an image deleted from outside (``DELETE FROM
images``) has no variants either; on disk its files go with the PNG in the next start's sweep.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from abc import ABC, abstractmethod
from contextlib import suppress
from pathlib import Path

import pymysql
from pymysql.connections import Connection

from core.content import ImageContent
from core.settings import Settings
from core.variants import VariantSpec
from data.connection import Pool
from data.errors import translate_errors
from data.storage import TEMP_SUFFIX, ContentStore

SELECT_ORIGINAL = "SELECT width, content_sha256, content_bytes FROM images WHERE guid = %(guid)s"
SELECT_VARIANT = "SELECT sha256, content FROM image_variants WHERE guid = %(guid)s AND variant = %(variant)s"
INSERT_VARIANT = (
    "INSERT INTO image_variants (guid, variant, sha256, content) "
    "VALUES (%(guid)s, %(variant)s, %(sha256)s, %(content)s) "
    "ON DUPLICATE KEY UPDATE guid = guid"
)


def _content(data: bytes, sha256: str | None = None) -> ImageContent:
    return ImageContent(sha256=sha256 or hashlib.sha256(data).hexdigest(), size=len(data), stream=lambda: iter([data]))


class VariantStore(ABC):
    @abstractmethod
    def get(self, conn: Connection, guid: str, key: str) -> ImageContent | None: ...

    @abstractmethod
    def put(self, guid: str, key: str, data: bytes) -> None:
        """Keep a variant; a no-op when its image is gone."""


class DiskVariants(VariantStore):
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, guid: str, key: str) -> Path:
        return self.directory / f"{guid}.{key}"

    def get(self, conn: Connection, guid: str, key: str) -> ImageContent | None:
        try:
            return _content(self.path_for(guid, key).read_bytes())
        except FileNotFoundError:
            return None

    def put(self, guid: str, key: str, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f"{guid}.", suffix=TEMP_SUFFIX)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, self.path_for(guid, key))
        except FileNotFoundError:  # a delete's purge took the temp file: the image is gone
            return
        finally:
            Path(tmp).unlink(missing_ok=True)
        # A delete sets the PNG aside before it purges variants: if the PNG is gone now, the purge may have
        # run before this file existed, so remove it here; if not, the purge will see it.
        if not (self.directory / f"{guid}.png").exists():
            self.path_for(guid, key).unlink(missing_ok=True)


class MySQLVariants(VariantStore):
    """Rows in ``image_variants``: a delete of the image (even from outside) cascades to them."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    def get(self, conn: Connection, guid: str, key: str) -> ImageContent | None:
        with conn.cursor() as cur:
            cur.execute(SELECT_VARIANT, {"guid": guid, "variant": key})
            row = cur.fetchone()
        return _content(row["content"], row["sha256"]) if row else None

    def put(self, guid: str, key: str, data: bytes) -> None:
        row = {"guid": guid, "variant": key, "sha256": hashlib.sha256(data).hexdigest(), "content": data}
        # Suppressed inside the pool's block, which turns what escapes it into a StorageError: a foreign-key
        # refusal means the image was deleted meanwhile, and there is nothing to keep.
        with self.pool.transaction() as conn, conn.cursor() as cur, suppress(pymysql.err.IntegrityError):
            cur.execute(INSERT_VARIANT, row)


class VariantRepository:
    """Looks a variant up through its image's row; ``store`` reads the original PNG."""

    def __init__(self, pool: Pool, store: ContentStore, variants: VariantStore) -> None:
        self.pool = pool
        self.store = store
        self.variants = variants

    @translate_errors()
    def find(self, guid: str, spec: VariantSpec) -> tuple[VariantSpec | None, ImageContent | None] | None:
        """None: no such image. Else the variant ``spec`` comes to for this image (None: the original) and its
        content, None when that variant has not been made yet."""
        with self.pool.connection() as conn:
            with conn.cursor() as cur:
                cur.execute(SELECT_ORIGINAL, {"guid": guid})
                row = cur.fetchone()
            if row is None:
                return None
            fitted = spec.fit(row["width"])
            if fitted is None:
                return None, self.store.get(conn, guid, sha256=row["content_sha256"], size=row["content_bytes"])
            return fitted, self.variants.get(conn, guid, fitted.key)

    @translate_errors()
    def add(self, guid: str, spec: VariantSpec, data: bytes) -> None:
        self.variants.put(guid, spec.key, data)


def make_variant_store(settings: Settings, pool: Pool) -> VariantStore:
    if settings.pixy_storage == "mysql":
        return MySQLVariants(pool)
    return DiskVariants(settings.pixy_images_dir)
