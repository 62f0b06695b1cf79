"""add_many stores every image or none: rows and content files alike."""

from __future__ import annotations

import pytest

from data.images import MySQLImageRepository
from data.storage import DiskStore


class ThirdPutFails(Exception):
    pass


class FailsOnThirdPut(DiskStore):
    """Writes the first two files for real, then fails, as a full disk would."""

    def __init__(self, directory) -> None:
        super().__init__(directory)
        self.puts = 0

    def put(self, conn, guid: str, content: bytes) -> None:
        self.puts += 1
        if self.puts == 3:
            raise ThirdPutFails(guid)
        super().put(conn, guid, content)


def test_a_failure_midway_leaves_no_row_and_no_file(settings, pool, raw, new_image):
    images_dir = settings.pixy_images_dir
    repository = MySQLImageRepository(pool, FailsOnThirdPut(images_dir))
    items = [(new_image(n), f"png {n}".encode()) for n in range(4)]
    with pytest.raises(ThirdPutFails):
        repository.add_many(items)
    with raw.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM images")
        assert cur.fetchone() == (0,)
    assert sorted(images_dir.iterdir()) == []


def test_all_images_and_their_content_are_stored(settings, pool, new_image):
    repository = MySQLImageRepository(pool, DiskStore(settings.pixy_images_dir))
    items = [(new_image(n), f"png {n}".encode()) for n in range(4)]
    repository.add_many(items)
    for image, data in items:
        assert repository.get(image.guid) == image
        assert repository.content(image.guid).read() == data
