"""Where the service's time goes, for ``scripts/bench.py``: the pieces of a request timed in-process.

Each piece is the service's own code (``encode_png``, ``MySQLImageRepository``, ``DiskStore``), called
directly against the benchmark's databases, so a missed target can be explained in milliseconds. The
100,000-row seeding for the list benchmark lives here too.
"""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import time
import uuid
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

from bench.load import Load, Proc, median, timed
from core.models import ImageDetail
from core.settings import Settings
from data.connection import open_connection, transaction
from data.images import COUNT_IMAGES, SELECT_PAGE, MySQLImageRepository, PageQuery
from data.storage import ContentStore, DiskStore, MySQLStore
from service.images import now
from service.png import encode_png


class NullStore(ContentStore):
    """Keeps no content, so ``repository.add`` times the row's INSERT and COMMIT alone."""

    def put(self, conn, guid: str, content: bytes) -> None:
        return None

    def discard(self, guid: str) -> None:
        return None

    def get(self, conn, guid: str):
        return None


def detail_for(profile, model: str, seed: int) -> ImageDetail:
    guid = str(uuid.uuid4())
    return ImageDetail(
        guid=guid,
        filename=f"{guid}.png",
        prompt="a lighthouse at dusk, oil painting",
        seed=seed,
        steps=profile.steps,
        guidance_scale=profile.guidance_scale,
        width=profile.width,
        height=profile.height,
        model=model,
        created_at=now(),
        generation_ms=1,
    )


def seed_rows(settings: Settings, rows: int, chunk: int = 5000) -> tuple[float, str]:
    """Seed ``rows`` images with tiny content through ``add_many``; return seconds and a middle guid."""
    repository = MySQLImageRepository(settings, MySQLStore(settings))
    started, middle = time.perf_counter(), ""
    base = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=1)
    for first in range(0, rows, chunk):
        items = []
        for i in range(first, min(first + chunk, rows)):
            guid = str(uuid.uuid4())
            detail = ImageDetail(
                guid=guid, filename=f"{guid}.png", prompt=f"seeded image {i}", seed=i, steps=4,
                guidance_scale=7.5, width=128, height=128, model="tiny",
                created_at=base + timedelta(milliseconds=i), generation_ms=50,
            )  # fmt: skip
            items.append((detail, b"\x89PNG seeded " + guid.encode()))
            if i == rows // 2:
                middle = guid
        repository.add_many(items)
    return time.perf_counter() - started, middle


def request_split(load: Load, server: Proc) -> dict:
    """Split the c1 requests: client round trip, the server's own time (its log), the pipeline call."""
    by_id = server.server_ms()
    client, served, generation, http, in_server = [], [], [], [], []
    for latency, rid, body in zip(load.latencies_ms, load.request_ids, load.bodies, strict=True):
        if body is None or rid not in by_id:
            continue
        client.append(latency)
        served.append(by_id[rid])
        generation.append(body["generation_ms"])
        http.append(latency - by_id[rid])
        in_server.append(by_id[rid] - body["generation_ms"])
    return {
        "requests": len(client),
        "client_round_trip_ms": median(client),
        "server_elapsed_ms": median(served),
        "pipeline_call_ms": median(generation),
        "http_and_client_ms": median(http),
        "in_server_beyond_pipeline_ms": median(in_server),
    }


def store_costs(settings: Settings, image, profile, model: str, sampler: str, scratch: Path, repeat: int = 30) -> dict:
    """What ``ImageService.store`` does per image after the pipeline call, piece by piece."""
    detail = detail_for(profile, model, 1)
    png = encode_png(image, detail, sampler=sampler, compress_level=1)
    disk = DiskStore(scratch)
    rows = MySQLImageRepository(settings, NullStore())
    full = MySQLImageRepository(settings, disk)

    def write_no_fsync() -> None:
        path = scratch / f"{uuid.uuid4()}.part"
        path.write_bytes(png)
        os.replace(path, scratch / f"{uuid.uuid4()}.png")

    def select_on_open(conn) -> None:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")

    conn = open_connection(settings)
    try:
        select_ms = timed(lambda: select_on_open(conn), repeat)
    finally:
        conn.close()
    return {
        "png_bytes": len(png),
        "encode_png_ms": timed(lambda: encode_png(image, detail, sampler=sampler, compress_level=1), repeat),
        "sha256_ms": timed(lambda: hashlib.sha256(png).hexdigest(), repeat),
        "mysql_connect_close_ms": timed(lambda: open_connection(settings).close(), repeat),
        "mysql_select1_on_open_connection_ms": select_ms,
        "row_insert_commit_ms": timed(
            lambda: rows.add(detail_for(profile, model, 2), content=png, sha256="0" * 64), repeat
        ),
        "disk_put_with_fsync_ms": timed(lambda: disk.put(None, str(uuid.uuid4()), png), repeat),
        "disk_put_without_fsync_ms": timed(write_no_fsync, repeat),
        "repository_add_total_ms": timed(
            lambda: full.add(detail_for(profile, model, 3), content=png, sha256="0" * 64), repeat
        ),
        "image_detail_json_ms": timed(lambda: detail.model_dump_json(), repeat),
    }


def content_costs(settings: Settings, images_dir: Path, guid: str, repeat: int = 100) -> dict:
    """What ``GET /image/{guid}/content`` does before the file is sent."""
    repository = MySQLImageRepository(settings, DiskStore(images_dir))
    return {
        "repository_content_ms": timed(lambda: repository.content(guid), repeat),
        "mysql_connect_close_ms": timed(lambda: open_connection(settings).close(), repeat),
    }


def connect_costs(settings: Settings, repeat: int = 30) -> dict:
    """Why a connection costs what it does: PyMySQL's default TLS mode builds an SSL context per connect."""
    import pymysql

    def plain() -> None:
        pymysql.connect(
            host=settings.db_host, port=settings.db_port, user=settings.db_user,
            password=settings.db_password.get_secret_value(), database=settings.db_name, charset="utf8mb4",
            ssl_disabled=True,
        ).close()  # fmt: skip

    conn = open_connection(settings)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW VARIABLES LIKE 'have_ssl'")
            have_ssl = cur.fetchone()["Value"]
    finally:
        conn.close()
    return {
        "pymysql_version": version("PyMySQL"),
        "server_have_ssl": have_ssl,
        "open_connection_close_ms": timed(lambda: open_connection(settings).close(), repeat),
        "connect_close_ssl_disabled_ms": timed(plain, repeat),
        "ssl_create_default_context_ms": timed(ssl.create_default_context, repeat),
    }


def list_costs(settings: Settings, repeat: int = 20) -> dict:
    """What ``GET /image/`` does at 100,000 rows: the page, the COUNT(*) for X-Total-Count, validation."""
    repository = MySQLImageRepository(settings, MySQLStore(settings))
    page_sql = SELECT_PAGE.format(where="")
    count_sql = COUNT_IMAGES.format(where="")
    with transaction(settings) as conn, conn.cursor() as cur:

        def run(sql: str, params: dict | None = None) -> list:
            cur.execute(sql, params)
            return cur.fetchall()

        page_ms = timed(lambda: run(page_sql, {"limit": 100, "offset": 0}), repeat)
        count_ms = timed(lambda: run(count_sql), repeat)
        rows = run(page_sql, {"limit": 100, "offset": 0})
        plan = run("EXPLAIN " + count_sql)
    details = [ImageDetail.model_validate(row) for row in rows]
    return {
        "sql_page_100_ms": page_ms,
        "sql_count_star_ms": count_ms,
        "count_plan": json.loads(json.dumps(plan, default=str)),
        "validate_100_rows_ms": timed(lambda: [ImageDetail.model_validate(row) for row in rows], repeat),
        "json_100_rows_ms": timed(lambda: [d.model_dump(mode="json") for d in details], repeat),
        "repository_list_ms": timed(lambda: repository.list(PageQuery()), repeat),
        "repository_count_ms": timed(lambda: repository.count(), repeat),
    }
