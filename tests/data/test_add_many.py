"""add_many stores every image or none: rows and content files alike."""

from __future__ import annotations

import pytest

from core.exceptions import StorageError
from core.models import GenerationParams
from data.images import MySQLImageRepository
from data.jobs import MySQLJobRepository
from data.storage import DiskStore
from data.write import Write


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


def test_a_write_asked_along_commits_with_the_images_or_not_at_all(settings, pool, raw, new_image):
    repository = MySQLImageRepository(pool, DiskStore(settings.pixy_images_dir))
    jobs = MySQLJobRepository(pool)
    params = GenerationParams(prompt="p", negative_prompt="", seed=1, steps=1, guidance_scale=1.0, width=64, height=64)
    jobs.add("00000000-0000-4000-8000-000000000001", params, n=1, created_at=new_image(0).created_at)
    first = new_image(1)
    ok = jobs.finished(
        "00000000-0000-4000-8000-000000000001", status="succeeded", at=first.created_at, images=[first.guid]
    )
    repository.add(first, content=b"png 1", sha256="1" * 64, also=ok)
    assert repository.get(first.guid) == first and ok.rowcount == 1
    assert jobs.get("00000000-0000-4000-8000-000000000001").images == [first.guid]
    for add in (
        lambda also: repository.add(new_image(2), content=b"png 2", sha256="2" * 64, also=also),
        lambda also: repository.add_many([(new_image(3), b"png 3"), (new_image(4), b"png 4")], also=also),
    ):
        with pytest.raises(StorageError):
            add(Write("UPDATE no_such_table SET x = 1", {}))
    with raw.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM images")
        assert cur.fetchone() == (1,)
    assert sorted(p.name for p in settings.pixy_images_dir.iterdir()) == [f"{first.guid}.png"]
