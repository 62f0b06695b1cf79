"""The MySQL image repository against the real database, over both content stores."""

from __future__ import annotations

import hashlib
import os

import pytest

from core.content import CHUNK_BYTES
from core.exceptions import StorageError
from core.models import PageQuery
from data.images import MySQLImageRepository
from data.init import init_db
from data.storage import DiskStore, MySQLStore

UNKNOWN = "00000000-0000-4000-8000-000000000000"
TRICKY_PROMPTS = [
    'it\'s a "quoted" `prompt`',
    "'; DROP TABLE images; --",
    "100% %s %(guid)s {} {0} {guid} \\n \\",
    "<script>alert('x')</script> &amp; <b>bold</b>",
    "山の上の猫、水彩画",
    "قطة على الجبل",
    "a cat 🐱 on a 🏔️ with 👨‍👩‍👧 family",
    "tab\there\nnew line\r\n",
]


def test_added_image_comes_back_equal_in_every_field(add, repository):
    image = add(n=3)
    assert repository.get(image.guid) == image
    assert repository.get(image.guid).created_at.microsecond == image.created_at.microsecond


def test_an_outside_select_sees_the_same_strings(add, raw):
    image = add(prompt="a red fox")
    with raw.cursor() as cur:
        cur.execute("SELECT guid, filename, prompt FROM images WHERE guid=%s", (image.guid,))
        assert cur.fetchone() == (image.guid, image.filename, image.prompt)


def test_content_is_the_exact_bytes_with_their_hash_and_size(add, repository, content_of, store_kind):
    image = add()
    expected = content_of(image)
    content = repository.content(image.guid)
    if store_kind == "disk":
        assert content.file.read_bytes() == expected
    else:
        assert content.file is None
    assert content.read() == expected
    assert content.sha256 == hashlib.sha256(expected).hexdigest()
    assert content.size == len(expected)


@pytest.mark.parametrize("extra", [-1, 0, 1], ids=["short", "exact", "over"])
def test_content_spanning_several_chunks_comes_back_whole(repository, new_image, extra):
    image, data = new_image(), os.urandom(2 * CHUNK_BYTES + extra)
    repository.add(image, content=data, sha256=hashlib.sha256(data).hexdigest())
    assert repository.content(image.guid).read() == data


def test_unknown_guid_has_no_image_and_no_content(repository):
    assert repository.get(UNKNOWN) is None
    assert repository.content(UNKNOWN) is None


def test_list_is_newest_first(add, repository):
    guids = [add(n=n).guid for n in range(4)]
    assert [i.guid for i in repository.list(PageQuery())] == guids[::-1]


def test_limit_and_offset_page_through_the_list(add, repository):
    guids = [add(n=n).guid for n in range(5)][::-1]
    assert [i.guid for i in repository.list(PageQuery(limit=2))] == guids[:2]
    assert [i.guid for i in repository.list(PageQuery(limit=2, offset=2))] == guids[2:4]
    assert [i.guid for i in repository.list(PageQuery(limit=2, offset=4))] == guids[4:]


def test_before_pages_by_key(add, repository):
    guids = [add(n=n).guid for n in range(5)][::-1]
    assert [i.guid for i in repository.list(PageQuery(limit=2, before=guids[1]))] == guids[2:4]
    assert repository.list(PageQuery(before=guids[-1])) == []


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("red fox", ["A Red Fox"]),
        ("RED", ["A Red Fox", "redder"]),
        ("%", ["100% cotton"]),
        ("_", ["snake_case"]),
        ("0%", ["100% cotton"]),
        ("e_c", ["snake_case"]),
        ("\\", ["back\\slash"]),
        ("nothing like it", []),
    ],
)
def test_search_is_a_literal_case_insensitive_substring(add, repository, q, expected):
    prompts = ["A Red Fox", "redder", "100% cotton", "1000 cottons", "snake_case", "snakeXcase", "back\\slash"]
    for n, prompt in enumerate(prompts):
        add(n=n, prompt=prompt)
    found = [i.prompt for i in repository.list(PageQuery(q=q))]
    assert sorted(found) == sorted(expected)
    assert repository.count(q) == len(expected)


def test_count_without_a_query_counts_everything(add, repository):
    assert repository.count() == 0
    for n in range(3):
        add(n=n)
    assert repository.count() == 3
    assert repository.count("") == 3


def test_delete_removes_row_and_content(add, repository, settings, store_kind):
    kept, gone = add(n=0), add(n=1)
    assert repository.delete(gone.guid) is True
    assert repository.get(gone.guid) is None
    assert repository.content(gone.guid) is None
    assert repository.get(kept.guid) == kept
    assert repository.content(kept.guid) is not None
    if store_kind == "disk":
        assert not (settings.pixy_images_dir / gone.filename).exists()


def test_deleting_an_unknown_guid_returns_false(add, repository):
    add()
    assert repository.delete(UNKNOWN) is False
    assert repository.count() == 1


def test_an_outside_delete_succeeds_with_content_present(add, repository, raw):
    images = [add(n=n) for n in range(3)]
    with raw.cursor() as cur:
        cur.execute("DELETE FROM images")
        cur.execute("SELECT COUNT(*) FROM image_blobs")
        assert cur.fetchone() == (0,)
    for image in images:
        assert repository.get(image.guid) is None
        assert repository.content(image.guid) is None
    assert repository.list(PageQuery()) == []


@pytest.mark.parametrize("prompt", TRICKY_PROMPTS)
def test_utf8mb4_prompts_round_trip_byte_for_byte(add, repository, raw, prompt):
    image = add(prompt=prompt, negative_prompt=prompt[::-1])
    got = repository.get(image.guid)
    assert got.prompt.encode() == prompt.encode()
    assert got.negative_prompt.encode() == prompt[::-1].encode()
    with raw.cursor() as cur:
        cur.execute("SELECT prompt FROM images WHERE guid=%s", (image.guid,))
        assert cur.fetchone()[0].encode() == prompt.encode()
    assert [i.guid for i in repository.list(PageQuery(q=prompt))] == [image.guid]


class PutFails(Exception):
    pass


def failing(store_class, *, after: bool):
    class FailingStore(store_class):
        def put(self, conn, guid, content):
            if after:
                super().put(conn, guid, content)
            raise PutFails(guid)

    return FailingStore


@pytest.mark.parametrize("after", [False, True], ids=["before-write", "after-write"])
def test_a_failed_put_leaves_no_row_and_no_file(settings, pool, raw, new_image, store_kind, after):
    images_dir = settings.pixy_images_dir
    store = (
        failing(DiskStore, after=after)(images_dir) if store_kind == "disk" else failing(MySQLStore, after=after)(pool)
    )
    repository = MySQLImageRepository(pool, store)
    image = new_image()
    with pytest.raises(PutFails):
        repository.add(image, content=b"png", sha256="0" * 64)
    assert repository.get(image.guid) is None
    with raw.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM images")
        assert cur.fetchone() == (0,)
        cur.execute("SELECT COUNT(*) FROM image_blobs")
        assert cur.fetchone() == (0,)
    assert not images_dir.exists() or list(images_dir.iterdir()) == []


def test_a_duplicate_guid_is_refused_and_keeps_the_first_image(add, repository, content_of):
    first = add(prompt="first")
    with pytest.raises(StorageError):
        repository.add(first.model_copy(update={"prompt": "second"}), content=b"other", sha256="1" * 64)
    assert repository.get(first.guid).prompt == "first"
    content = repository.content(first.guid)
    assert content is not None and content.read() == content_of(first)


@pytest.mark.parametrize("store_kind", ["disk"])
def test_sweep_removes_temp_files_and_orphans_but_keeps_stored_images(add, repository, settings, new_image):
    images_dir = settings.pixy_images_dir
    kept = add()
    orphan = new_image()
    (images_dir / orphan.filename).write_bytes(b"orphan")
    (images_dir / f"{kept.guid}.abc123.part").write_bytes(b"half")
    (images_dir / f"{orphan.guid}.xyz.part").write_bytes(b"half")
    assert repository.sweep() == [orphan.guid]
    assert sorted(p.name for p in images_dir.iterdir()) == [kept.filename]
    assert repository.content(kept.guid) is not None


def test_init_db_is_idempotent_and_keeps_rows(add, repository, settings):
    image = add()
    init_db(settings)
    init_db(settings)
    assert repository.get(image.guid) == image
    assert repository.count() == 1
