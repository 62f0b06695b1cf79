"""Fixtures for the data layer: a repository over each content store, and raw SQL from outside."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

import pytest

from core.models import ImageDetail
from data.images import MySQLImageRepository
from data.storage import ContentStore, DiskStore, MySQLStore, make_store

STORES = ["disk", "mysql"]
BASE_TIME = datetime(2024, 2, 29, 23, 59, 58, 123456)


def make_image(n: int = 0, **overrides) -> ImageDetail:
    guid = str(uuid.uuid4())
    values = {
        "guid": guid,
        "filename": f"{guid}.png",
        "prompt": f"prompt number {n}",
        "negative_prompt": "blurry",
        "seed": 2**32 - 1 - n,
        "steps": 4 + n,
        "guidance_scale": 7.123456789012345,
        "width": 128,
        "height": 96,
        "model": "tiny",
        "created_at": BASE_TIME + timedelta(microseconds=n * 1001),
        "generation_ms": 1234 + n,
    }
    return ImageDetail(**(values | overrides))


def content_for(image: ImageDetail) -> bytes:
    """Every byte value, then bytes unique to the image."""
    return bytes(range(256)) + image.guid.encode() * 3


@pytest.fixture(params=STORES)
def store_kind(request) -> str:
    return request.param


@pytest.fixture
def store(settings, pool, store_kind) -> ContentStore:
    return make_store(settings.model_copy(update={"pixy_storage": store_kind}), pool)


@pytest.fixture
def repository(pool, store) -> MySQLImageRepository:
    return MySQLImageRepository(pool, store)


@pytest.fixture
def add(repository):
    """Add an image with its content; return the image."""

    def add_image(image: ImageDetail | None = None, **overrides) -> ImageDetail:
        image = image or make_image(**overrides)
        content = content_for(image)
        repository.add(image, content=content, sha256=hashlib.sha256(content).hexdigest())
        return image

    return add_image


@pytest.fixture
def new_image():
    """Build an image that is not stored yet."""
    return make_image


@pytest.fixture
def content_of():
    """The content ``add`` stores for an image."""
    return content_for


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def sides(settings, pool) -> dict[str, ContentStore]:
    """Each store by its PIXY_STORAGE name, without the other behind it."""
    return {"disk": DiskStore(settings.pixy_images_dir), "mysql": MySQLStore(pool)}


@pytest.fixture
def stored_on(pool, sides, new_image):
    """Add an image whose content is on the named sides only."""

    def add(*names: str) -> ImageDetail:
        image = new_image()
        content = content_for(image)
        MySQLImageRepository(pool, sides[names[0]]).add(image, content=content, sha256=sha256_of(content))
        for name in names[1:]:
            with pool.transaction() as conn:
                sides[name].put(conn, image.guid, content)
        return image

    return add
