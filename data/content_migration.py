"""Moving every image's content from one store to the other: bounded batches, each copy verified, resumable.

No progress is recorded anywhere but the target itself: content there that hashes to its row's sha256 is done,
so a run killed at any point is resumed by running again. The rows being copied are share-locked until their
batch commits, so a delete waits for the copy and takes it along; nothing outlives its image.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from core.settings import Settings
from data.connection import Pool, open_connection
from data.content_sides import Row, Side
from data.errors import translate_errors

SELECT_BATCH = (
    "SELECT id, guid, content_sha256 AS sha256, content_bytes AS size FROM images "
    "WHERE id > %(after)s ORDER BY id LIMIT %(limit)s"
)
COUNT_IMAGES = "SELECT COUNT(*) AS n FROM images"
SELECT_EXISTING = "SELECT guid FROM images WHERE guid IN %(guids)s"
LOCK_ROWS = SELECT_EXISTING + " LOCK IN SHARE MODE"
# Named locks are server-wide: the database's name keeps two services on one server apart.
TAKE_RUN_LOCK = "SELECT GET_LOCK(CONCAT(DATABASE(), '.content-migration'), 0) AS held"
MAX_BATCH_BYTES = 64 * 1024 * 1024


@dataclass
class Tally:
    seen: int = 0
    copied: int = 0
    present: int = 0  # on the target and verified already: a resumed run skips these
    gone: int = 0  # deleted while the run went on
    bytes: int = 0
    removed: int = 0
    kept: list[str] = field(default_factory=list)  # not verified on the target when removing: left as they are
    missing: list[str] = field(default_factory=list)  # content on neither side
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.failed


class ContentMigration:
    def __init__(
        self,
        pool: Pool,
        *,
        source: Side,
        target: Side,
        batch: int = 100,
        pause: float = 0.0,
        report: Callable[[str], None] = print,
    ) -> None:
        self.pool, self.source, self.target = pool, source, target
        self.batch, self.pause, self.report = batch, pause, report

    def total(self) -> int:
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.execute(COUNT_IMAGES)
            return int(cur.fetchone()["n"])

    def copy(self) -> Tally:
        """Copy what the target lacks, verify each copy, and report every batch."""
        self.target.clear_leftovers()
        tally, total, started = Tally(), self.total(), time.monotonic()
        for number, rows in enumerate(self._batches(), 1):
            self._copy_batch(rows, tally)
            tally.seen += len(rows)
            elapsed = max(time.monotonic() - started, 1e-6)
            self.report(
                f"copy batch {number}: {tally.seen}/{total} images: {tally.copied} copied, {tally.present} already "
                f"on {self.target.name}, {len(tally.missing)} missing, {len(tally.failed)} failed "
                f"({tally.copied / elapsed:.0f} images/s, {tally.bytes / elapsed / 1e6:.1f} MB/s)"
            )
            time.sleep(self.pause)
        return tally

    def remove_source(self) -> Tally:
        """Drop the source's copy of every image verified on the target now; leave the others."""
        tally, total = Tally(), self.total()
        for number, rows in enumerate(self._batches(), 1):
            with self.pool.transaction() as conn:
                there = self.target.verified(conn, rows)
                self.source.remove(conn, [row.guid for row in rows if row.guid in there])
            tally.seen += len(rows)
            tally.removed += len(there)
            tally.kept += [row.guid for row in rows if row.guid not in there]
            self.report(
                f"remove batch {number}: {tally.seen}/{total} images: {tally.removed} removed from "
                f"{self.source.name}, {len(tally.kept)} kept"
            )
            time.sleep(self.pause)
        return tally

    def _batches(self) -> Iterator[list[Row]]:
        """Every image by id, ``batch`` at a time and at most MAX_BATCH_BYTES of content (one image at least)."""
        after = 0
        while True:
            with self.pool.connection() as conn, conn.cursor() as cur:
                cur.execute(SELECT_BATCH, {"after": after, "limit": self.batch})
                rows = [Row(**row) for row in cur.fetchall()]
            if not rows:
                return
            size, cut = 0, len(rows)
            for index, row in enumerate(rows):
                size += row.size
                if size > MAX_BATCH_BYTES and index > 0:
                    cut = index
                    break
            rows = rows[:cut]
            after = rows[-1].id
            yield rows

    def _copy_batch(self, rows: list[Row], tally: Tally) -> None:
        copies: list[tuple[Row, bytes]] = []
        with self.pool.transaction() as conn:
            with conn.cursor() as cur:
                cur.execute(LOCK_ROWS, {"guids": [row.guid for row in rows]})
                alive = {found["guid"] for found in cur.fetchall()}
            tally.gone += len(rows) - len(alive)
            rows = [row for row in rows if row.guid in alive]
            there = self.target.verified(conn, rows)
            tally.present += len(there)
            for row in rows:
                if row.guid not in there and (content := self._source_content(conn, row, tally)) is not None:
                    copies.append((row, content))
            if copies:
                self.target.write(conn, [(row.guid, content) for row, content in copies])
        # A locking read: a delete that took the copy before its row's commit is waited for, so it reads as gone.
        with self.pool.transaction() as conn:
            verified = self.target.verified(conn, [row for row, _ in copies])
            unverified = [row.guid for row, _ in copies if row.guid not in verified]
            existing = self._existing(conn, unverified)
        for row, content in copies:
            if row.guid in verified:
                tally.copied += 1
                tally.bytes += len(content)
            elif row.guid in existing:
                tally.failed[row.guid] = f"its copy on {self.target.name} does not hash to its sha256"
            else:  # deleted once the batch let go of its row, and the copy with it
                tally.gone += 1

    def _existing(self, conn, guids: list[str]) -> set[str]:
        if not guids:
            return set()
        with conn.cursor() as cur:
            cur.execute(LOCK_ROWS, {"guids": guids})
            return {found["guid"] for found in cur.fetchall()}

    def _source_content(self, conn, row: Row, tally: Tally) -> bytes | None:
        try:
            content = self.source.read(conn, row)
        except OSError as exc:
            tally.failed[row.guid] = f"unreadable on {self.source.name}: {exc.strerror}"
            return None
        if content is None:
            tally.missing.append(row.guid)
            return None
        if hashlib.sha256(content).hexdigest() != row.sha256:
            tally.failed[row.guid] = f"its content on {self.source.name} does not hash to its sha256"
            return None
        return content


@contextmanager
def exclusive(settings: Settings) -> Iterator[bool]:
    """Whether this is the only run on this database; the server drops the lock when the run dies."""
    with translate_errors():
        conn = open_connection(settings)
    try:
        with translate_errors(), conn.cursor() as cur:
            cur.execute(TAKE_RUN_LOCK)
            held = cur.fetchone()["held"] == 1
        yield held
    finally:
        conn.close()
