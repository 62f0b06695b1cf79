"""After PIXY_STORAGE changes: the configured store reads through to the other one, and deletes clear both."""

from __future__ import annotations

import pytest

from core.exceptions import StorageError
from data.images import MySQLImageRepository
from data.storage import FallbackStore, MySQLStore, make_store
from tests.data.conftest import content_for, sha256_of


def test_the_configured_store_reads_through_to_the_other(stored_on, repository, store_kind):
    image = stored_on("mysql" if store_kind == "disk" else "disk")
    content = repository.content(image.guid)
    assert content.read() == content_for(image) and content.sha256 == sha256_of(content_for(image))


def test_a_copy_committed_after_the_readers_snapshot_is_found(stored_on, settings, pool, sides):
    """A read that saw the row, then missed on both sides while a move copied and removed, looks once more."""
    image = stored_on("disk")
    content = content_for(image)
    store = make_store(settings.model_copy(update={"pixy_storage": "mysql"}), pool)
    with pool.connection() as conn:
        with conn.cursor() as cur:  # the reader's snapshot starts here, before the copy
            cur.execute("SELECT content_sha256 FROM images WHERE guid = %(guid)s", {"guid": image.guid})
        with pool.transaction() as mover:
            sides["mysql"].put(mover, image.guid, content)
        sides["disk"].path_for(image.guid).unlink()
        assert store.get(conn, image.guid, sha256=sha256_of(content), size=len(content)).read() == content


def test_a_delete_removes_the_content_on_both_sides(stored_on, repository, settings, raw):
    image = stored_on("disk", "mysql")
    assert repository.delete(image.guid)
    assert not list(settings.pixy_images_dir.glob(f"{image.guid}*"))
    with raw.cursor() as cur:
        assert cur.execute("SELECT 1 FROM image_blobs WHERE guid = %s", (image.guid,)) == 0
    assert repository.content(image.guid) is None


def test_a_side_that_cannot_let_go_keeps_the_row_and_the_other_side(stored_on, pool, sides, settings):
    class Stuck(MySQLStore):
        def remove(self, guid: str) -> None:
            raise OSError(1, "Operation not permitted")

    image = stored_on("disk")
    repository = MySQLImageRepository(pool, FallbackStore(sides["disk"], Stuck(pool)))
    with pytest.raises(StorageError):
        repository.delete(image.guid)
    assert repository.get(image.guid) == image
    assert repository.content(image.guid).read() == content_for(image)
