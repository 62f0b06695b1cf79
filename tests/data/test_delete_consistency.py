"""A delete takes row and content together, or neither: no 500 with the row gone and the file left."""

from __future__ import annotations

import errno
import hashlib
import logging
from pathlib import Path

import pytest

from core.exceptions import StorageError
from data.images import MySQLImageRepository
from data.storage import DiskStore
from tests.data.conftest import content_for


class ImmutableDiskStore(DiskStore):
    """As if the images folder were immutable: a file cannot be moved or removed."""

    def remove(self, guid: str) -> None:
        raise OSError(errno.EPERM, "Operation not permitted", str(self.path_for(guid)))


@pytest.fixture
def on_disk(settings, pool):
    def build(store_class: type[DiskStore]) -> tuple[MySQLImageRepository, DiskStore]:
        store = store_class(settings.pixy_images_dir)
        return MySQLImageRepository(pool, store), store

    return build


@pytest.fixture
def add_to():
    def add(repository: MySQLImageRepository, image):
        content = content_for(image)
        repository.add(image, content=content, sha256=hashlib.sha256(content).hexdigest())
        return image

    return add


def test_content_that_cannot_be_removed_keeps_its_row(on_disk, new_image, content_of, add_to):
    repository, store = on_disk(ImmutableDiskStore)
    image = add_to(repository, new_image())
    with pytest.raises(StorageError) as caught:
        repository.delete(image.guid)
    assert caught.value.status_code == 500 and "/" not in caught.value.message
    assert repository.get(image.guid) == image
    assert repository.content(image.guid).read() == content_of(image)


def test_a_file_left_after_the_row_went_is_logged_and_swept(on_disk, new_image, add_to, caplog, monkeypatch):
    repository, store = on_disk(DiskStore)
    image = add_to(repository, new_image())

    def refused(path: Path, missing_ok: bool = False) -> None:
        raise OSError(errno.EPERM, "Operation not permitted", str(path))

    with caplog.at_level(logging.WARNING, logger="data.storage"), monkeypatch.context() as patch:
        patch.setattr(Path, "unlink", refused)
        assert repository.delete(image.guid) is True
    assert repository.get(image.guid) is None and repository.content(image.guid) is None
    assert any("sweep removes it" in r.getMessage() and image.guid in r.getMessage() for r in caplog.records)
    assert store.trash_for(image.guid).exists()
    assert image.guid in repository.sweep()
    assert list(store.directory.iterdir()) == []


def test_a_delete_interrupted_before_its_commit_is_restored_by_the_sweep(on_disk, new_image, content_of, add_to):
    repository, store = on_disk(DiskStore)
    image = add_to(repository, new_image())
    store.remove(image.guid)  # set aside, and then the process died before the row's delete committed
    assert repository.sweep() == []
    assert repository.content(image.guid).read() == content_of(image)
