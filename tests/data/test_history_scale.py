"""A history page reads an index range, not the table: the same cost at 100 rows or 100,000."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import pytest

from core.models import ImageDetail, PageQuery
from data.connection import Pool
from data.images import SELECT_PAGE, MySQLImageRepository, where_clause
from data.storage import make_store
from tests.conftest import clear_tables, outside_connection

ROWS = 100_000
CHUNK = 5_000


@pytest.fixture(scope="module")
def seeded(database):
    """100,000 rows seeded through the repository, in bulk, with tiny BLOB content."""
    settings = database.model_copy(update={"pixy_storage": "mysql"})
    clear_tables(settings)
    pool = Pool(settings)
    repository = MySQLImageRepository(pool, make_store(settings, pool))
    start = datetime(2026, 1, 1)
    for offset in range(0, ROWS, CHUNK):
        batch = []
        for i in range(offset, offset + CHUNK):
            guid = str(uuid.uuid4())
            image = ImageDetail(
                guid=guid,
                filename=f"{guid}.png",
                prompt=f"prompt number {i}",
                seed=i,
                created_at=start + timedelta(seconds=i),
            )
            batch.append((image, b"png"))
        repository.add_many(batch)
    yield settings, repository
    pool.close()
    clear_tables(settings)


def analyze(settings, sql: str, params: dict) -> dict:
    """MariaDB's ANALYZE runs the query and reports the rows each table access really read."""
    with outside_connection(settings) as conn, conn.cursor() as cur:
        cur.execute("ANALYZE FORMAT=JSON " + sql, params)
        plan = json.loads(cur.fetchone()[0])
    return plan


def table_accesses(plan) -> list[dict]:
    found = []
    if isinstance(plan, dict):
        if "table" in plan and isinstance(plan["table"], dict) and "access_type" in plan["table"]:
            found.append(plan["table"])
        for value in plan.values():
            found += table_accesses(value)
    elif isinstance(plan, list):
        for value in plan:
            found += table_accesses(value)
    return found


def test_count_is_right_after_bulk_seeding(seeded):
    _, repository = seeded
    assert repository.count() == ROWS


@pytest.mark.parametrize("keyset", [False, True], ids=["first page", "keyset page"])
def test_a_page_reads_about_limit_rows_through_an_index(seeded, keyset):
    settings, repository = seeded
    middle = repository.list(PageQuery(limit=1, offset=ROWS // 2))[0]
    page_query = PageQuery(limit=100, before=middle.guid if keyset else None)
    where, params = where_clause(page_query)
    plan = analyze(settings, SELECT_PAGE.format(where=where), params | {"limit": 100, "offset": 0})
    accesses = table_accesses(plan)
    assert accesses and all(access["access_type"] != "ALL" for access in accesses), accesses
    images_scan = next(a for a in accesses if a.get("key") == "PRIMARY")
    assert images_scan["r_rows"] <= 101, images_scan
    page = repository.list(page_query)
    expected_first = middle.seed - 1 if keyset else ROWS - 1
    assert [image.seed for image in page] == list(range(expected_first, expected_first - 100, -1))


def test_init_recounts_a_total_that_drifted(settings, pool, raw):
    from data.init import init_db

    repository = MySQLImageRepository(pool, make_store(settings, pool))
    image = ImageDetail(guid=str(uuid.uuid4()), filename="x.png", prompt="p", created_at=datetime(2026, 1, 1))
    repository.add_many([(image, b"png")])
    with raw.cursor() as cur:
        cur.execute("UPDATE image_stats SET total = 42 WHERE id = 1")
    assert repository.count() == 42
    init_db(settings)
    assert repository.count() == 1
