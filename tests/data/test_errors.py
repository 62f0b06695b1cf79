"""Driver and filesystem faults leave the data layer as ``core`` exceptions with client-safe messages."""

from __future__ import annotations

import hashlib
import uuid

import pymysql
import pytest

from core.exceptions import DatabaseUnavailable, StorageError
from core.models import PageQuery
from data.connection import Pool
from data.images import MySQLImageRepository
from data.storage import DiskStore
from tests.data.conftest import make_image


class FailingPool(Pool):
    """Every unit of work fails as the driver or the filesystem would, before reaching MySQL."""

    def __init__(self, settings, error: BaseException) -> None:
        super().__init__(settings)
        self.error = error

    def _take(self):
        raise self.error


def failing_repository(settings, tmp_path, error: BaseException) -> MySQLImageRepository:
    return MySQLImageRepository(FailingPool(settings, error), DiskStore(tmp_path / "images"))


def calls_that_reach_the_database(repository: MySQLImageRepository):
    guid = str(uuid.uuid4())
    image = make_image()
    return {
        "create": lambda: repository.add(image, content=b"png", sha256=hashlib.sha256(b"png").hexdigest()),
        "get": lambda: repository.get(guid),
        "content": lambda: repository.content(guid),
        "delete": lambda: repository.delete(guid),
        "list": lambda: repository.list(PageQuery()),
        "count": lambda: repository.count("cat"),
    }


@pytest.mark.parametrize("call", ["create", "get", "content", "delete", "list", "count"])
def test_an_unreachable_database_becomes_database_unavailable(settings, tmp_path, call):
    error = pymysql.err.OperationalError(2003, "Can't connect to MySQL server on 'db.internal'")
    repository = failing_repository(settings, tmp_path, error)
    with pytest.raises(DatabaseUnavailable) as caught:
        calls_that_reach_the_database(repository)[call]()
    assert caught.value.status_code == 503 and caught.value.retry_after > 0
    assert "db.internal" not in caught.value.message


@pytest.mark.parametrize("call", ["create", "get", "content", "delete", "list", "count"])
def test_a_filesystem_error_becomes_storage_error(settings, tmp_path, call):
    error = OSError(28, "No space left on device", "/srv/secret/images/x.png")
    repository = failing_repository(settings, tmp_path, error)
    with pytest.raises(StorageError) as caught:
        calls_that_reach_the_database(repository)[call]()
    assert caught.value.status_code == 500
    assert "/srv/secret" not in caught.value.message


def test_any_other_database_error_becomes_storage_error(settings, tmp_path):
    error = pymysql.err.ProgrammingError(1146, "Table 'pixyproxy.images' doesn't exist")
    repository = failing_repository(settings, tmp_path, error)
    with pytest.raises(StorageError) as caught:
        repository.get(str(uuid.uuid4()))
    assert "images" not in caught.value.message


def test_a_real_unreachable_database_becomes_database_unavailable(settings, tmp_path):
    closed = settings.model_copy(update={"db_port": 1, "db_connect_timeout": 1})
    repository = MySQLImageRepository(Pool(closed), DiskStore(tmp_path / "images"))
    with pytest.raises(DatabaseUnavailable):
        repository.get(str(uuid.uuid4()))
