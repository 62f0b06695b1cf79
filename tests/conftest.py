"""Shared fixtures: a test database of its own, the tiny model, and an app per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pymysql
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from core.exceptions import DatabaseUnavailable  # noqa: E402
from core.settings import ROOT, Settings  # noqa: E402
from data.connection import Pool  # noqa: E402
from data.init import init_db  # noqa: E402

TEST_DB = os.environ.get("PIXY_TEST_DB_NAME", "pixyproxy_test")
TINY_DIR = ROOT / "models" / "tiny"
TINY_XL_DIR = ROOT / "models" / "tiny-xl"


def make_settings(tmp: Path, **overrides) -> Settings:
    values = {
        "db_name": TEST_DB,
        "pixy_model": "tiny",
        "pixy_images_dir": tmp / "images",
        "pixy_storage": "disk",
        "pixy_api_keys": "",
        "pixy_max_queue": 8,
        "pixy_max_batch": 1,
    }
    return Settings(**(values | overrides))


@pytest.fixture(scope="session")
def database(tmp_path_factory) -> Settings:
    settings = make_settings(tmp_path_factory.mktemp("db"))
    try:
        init_db(settings)
    except DatabaseUnavailable as exc:
        pytest.exit(f"MariaDB is not reachable at {settings.db_host}:{settings.db_port}: {exc.__cause__}", returncode=3)
    return settings


@contextmanager
def outside_connection(settings: Settings) -> Iterator[pymysql.connections.Connection]:
    """A plain PyMySQL connection, as another client of the database would open it."""
    conn = pymysql.connect(
        host=settings.db_host,
        port=settings.db_port,
        user=settings.db_user,
        password=settings.db_password.get_secret_value(),
        database=settings.db_name,
        charset="utf8mb4",
        autocommit=True,
    )
    try:
        yield conn
    finally:
        conn.close()


def clear_tables(settings: Settings) -> None:
    with outside_connection(settings) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM images")
        cur.execute("DELETE FROM jobs")  # a job left queued would run when the next test's app starts


@pytest.fixture
def pool(settings: Settings) -> Iterator[Pool]:
    """A pool of the service's own kind on the test database, closed after the test."""
    pool = Pool(settings)
    yield pool
    pool.close()


@pytest.fixture
def raw(settings: Settings) -> Iterator[pymysql.connections.Connection]:
    with outside_connection(settings) as conn:
        yield conn


@pytest.fixture
def settings(database: Settings, tmp_path: Path) -> Iterator[Settings]:
    """Settings for one test: the test database, emptied, and images in a fresh folder."""
    clear_tables(database)
    yield make_settings(tmp_path)


@pytest.fixture(scope="session")
def tiny_generator(tmp_path_factory):
    """The tiny pipeline, loaded once through the same from_pretrained path as real weights."""
    if not (TINY_DIR / "model_index.json").is_file():
        pytest.fail("models/tiny is missing: run scripts/make_tiny_model.py (make test does)")
    from service.generation.pipeline import load_generator

    return load_generator(make_settings(tmp_path_factory.mktemp("gen"), pixy_strict_model=True))


@pytest.fixture(scope="session")
def tiny_xl() -> str:
    """The SDXL-shaped tiny model's id, once its folder is there (``PIXY_MODELS=tiny-xl`` serves it)."""
    if not (TINY_XL_DIR / "model_index.json").is_file():
        pytest.fail("models/tiny-xl is missing: run scripts/make_tiny_model.py (make test does)")
    return "tiny-xl"
