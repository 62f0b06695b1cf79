"""Moving content between the stores (data/content_migration.py, data/migrate.py): nothing lost or stranded."""

from __future__ import annotations

import threading
import time

from data.content_migration import ContentMigration, exclusive
from data.content_sides import DiskSide, MySQLSide, Row
from data.images import MySQLImageRepository
from data.migrate import parse, run
from data.storage import DiskStore, MySQLStore
from tests.data.conftest import content_for, sha256_of


def test_one_run_at_a_time(settings):
    with exclusive(settings) as first, exclusive(settings) as second:
        assert (first, second) == (True, False)
    with exclusive(settings) as again:
        assert again


def test_a_corrupt_source_is_named_and_nothing_is_removed(stored_on, settings, pool, capsys):
    good, bad = stored_on("disk"), stored_on("disk")
    DiskStore(settings.pixy_images_dir).path_for(bad.guid).write_bytes(b"not what was stored")
    assert run(settings, pool, parse(["--to", "mysql"])) == 1
    out = capsys.readouterr().out
    assert f"not moved: {bad.guid}: its content on disk does not hash to its sha256" in out
    assert "nothing removed from disk" in out
    assert DiskStore(settings.pixy_images_dir).path_for(good.guid).exists()
    with pool.connection() as conn:
        assert MySQLSide(MySQLStore(pool)).verified(conn, [_row(good)]) == {good.guid}


def test_keep_source_leaves_both_copies(stored_on, settings, pool):
    image = stored_on("disk")
    assert run(settings, pool, parse(["--to", "mysql", "--keep-source"])) == 0
    with pool.connection() as conn:
        assert MySQLSide(MySQLStore(pool)).verified(conn, [_row(image)]) == {image.guid}
    assert DiskSide(settings.pixy_images_dir).verified(None, [_row(image)]) == {image.guid}


def test_an_image_deleted_while_copied_leaves_no_copy_behind(stored_on, settings, pool, repository):
    """The batch holds its rows: the delete waits for the copy's commit, then takes the new file too."""
    image = stored_on("mysql")
    deleting = threading.Thread(target=repository.delete, args=(image.guid,))

    class DeletedMeanwhile(MySQLSide):
        def read(self, conn, row: Row) -> bytes | None:
            content = super().read(conn, row)
            deleting.start()
            wait_for_blocked(pool, "DELETE FROM images")  # the delete is waiting on the row now
            return content

    target = DiskSide(settings.pixy_images_dir)
    tally = ContentMigration(pool, source=DeletedMeanwhile(MySQLStore(pool)), target=target, report=print).copy()
    deleting.join(timeout=30)
    assert tally.copied + tally.gone == 1 and not tally.failed
    assert repository.get(image.guid) is None
    assert not target.store.path_for(image.guid).exists()


def test_a_copy_removed_by_a_delete_not_yet_committed_counts_as_gone_not_failed(stored_on, settings, pool, store):
    """The delete takes the content before its row's commit: the check after the copy must wait for that commit."""
    image = stored_on("mysql")
    removed, commit = threading.Event(), threading.Event()

    class RemovesThenWaits:
        """The repository's store, whose remove then holds the delete's transaction open."""

        def __init__(self, inner) -> None:
            self.inner = inner

        def remove(self, guid: str) -> None:
            self.inner.remove(guid)
            removed.set()
            commit.wait(30)  # the row's DELETE is not committed yet

        def __getattr__(self, name: str):
            return getattr(self.inner, name)

    deleting = threading.Thread(target=MySQLImageRepository(pool, RemovesThenWaits(store)).delete, args=(image.guid,))

    class VerifiesAfterTheRemove(DiskSide):
        calls = 0

        def verified(self, conn, rows):
            self.calls += 1
            if self.calls == 2:  # the check after the copy's commit (the first is inside the batch's lock)
                deleting.start()  # the copy is committed: the delete goes ahead, up to its remove
                assert removed.wait(30)
                threading.Thread(
                    target=lambda: (wait_for_blocked(pool, "SELECT guid FROM images"), commit.set())
                ).start()
            return super().verified(conn, rows)

    target = VerifiesAfterTheRemove(settings.pixy_images_dir)
    tally = ContentMigration(pool, source=MySQLSide(MySQLStore(pool)), target=target, report=print).copy()
    commit.set()
    deleting.join(timeout=30)
    assert (tally.copied, tally.gone, tally.failed) == (0, 1, {})


def _row(image) -> Row:
    content = content_for(image)
    return Row(id=0, guid=image.guid, sha256=sha256_of(content), size=len(content))


def wait_for_blocked(pool, statement: str, timeout: float = 20) -> None:
    """Until a statement starting with ``statement`` is in flight on this test's database: one that would end
    in microseconds is then waiting on a lock. (Other databases on the server, parallel runs, do not count.)"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with pool.connection() as conn, conn.cursor() as cur:
            cur.execute(IN_FLIGHT, {"statement": statement + "%"})
            if cur.fetchone()["n"]:
                return
        time.sleep(0.01)
    raise AssertionError(f"no {statement!r} waited on a lock")


IN_FLIGHT = (
    "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST "
    "WHERE DB = DATABASE() AND ID <> CONNECTION_ID() AND INFO LIKE %(statement)s"
)
