"""Where a request's time goes: the service's own pieces timed in-process, to explain a missed target.

Each piece is the service's code (``encode_png``, the repository and store that ``bootstrap`` wires)
against the benchmark's databases. The 100,000-row seeding for the list benchmark lives here too.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime, timedelta

from bench import PROMPT
from bench.load import Load, median, server_ms, timed
from bench.server import Server
from core.clock import now
from core.models import ImageDetail, PageQuery
from data.images import MySQLImageRepository
from data.storage import ContentStore
from service.bootstrap import Container
from service.images.png import encode_png
from service.images.png_encoders import choose_encoder

# What the list route would cost without the repository: its page as plain SQL, and a COUNT(*)
# in place of the trigger-kept total.
PAGE_SQL = "SELECT * FROM images ORDER BY id DESC LIMIT 100"
COUNT_SQL = "SELECT COUNT(*) AS n FROM images"


class NullStore(ContentStore):
    """Keeps no content, so ``repository.add`` times the row's INSERT and COMMIT alone."""

    def put(self, conn, guid: str, content: bytes) -> None:
        return None

    def discard(self, guid: str) -> None:
        return None

    def get(self, conn, guid: str, *, sha256: str, size: int):
        return None


def detail_for(container: Container, seed: int, *, created_at: datetime | None = None) -> ImageDetail:
    info, guid = container.generator.info, str(uuid.uuid4())
    return ImageDetail(
        guid=guid, filename=f"{guid}.png", prompt=PROMPT, seed=seed, steps=info.profile.steps,
        guidance_scale=info.profile.guidance_scale, width=info.profile.width, height=info.profile.height,
        model=info.model, created_at=created_at or now(), generation_ms=1,
    )  # fmt: skip


def seed_rows(container: Container, rows: int, chunk: int = 5000) -> tuple[float, str]:
    """Seed ``rows`` images with tiny content through ``add_many``; return seconds and a middle guid."""
    started, middle = time.perf_counter(), ""
    base = now() - timedelta(days=1)
    for first in range(0, rows, chunk):
        items = []
        for i in range(first, min(first + chunk, rows)):
            detail = detail_for(container, i, created_at=base + timedelta(milliseconds=i))
            items.append((detail, b"\x89PNG seeded " + detail.guid.encode()))
            if i == rows // 2:
                middle = detail.guid
        container.repository.add_many(items)
    return time.perf_counter() - started, middle


def request_split(load: Load, server: Server) -> dict:
    """Split the c1 requests: client round trip, the server's own time (its log), the pipeline call."""
    by_id = server_ms(server)
    kept = [
        (latency, by_id[rid], body["generation_ms"])
        for latency, rid, body in zip(load.latencies_ms, load.request_ids, load.bodies, strict=True)
        if body is not None and rid in by_id
    ]
    return {
        "requests": len(kept),
        "client_round_trip_ms": median([c for c, _, _ in kept]),
        "server_elapsed_ms": median([s for _, s, _ in kept]),
        "pipeline_call_ms": median([g for _, _, g in kept]),
        "http_and_client_ms": median([c - s for c, s, _ in kept]),
        "in_server_beyond_pipeline_ms": median([s - g for _, s, g in kept]),
    }


def store_costs(container: Container, image, repeat: int = 30) -> dict:
    """What ``ImageGeneration`` does per image after the pipeline call, piece by piece."""
    sampler = container.generator.info.sampler
    detail = detail_for(container, 1)
    encoder = choose_encoder(container.settings.pixy_png_compress_level)  # the one the service chose
    png = encode_png(image, detail, sampler=sampler, encoder=encoder)
    rows_only = MySQLImageRepository(container.pool, NullStore())
    scratch = container.settings.pixy_images_dir

    def write_no_fsync() -> None:
        path = scratch / f"{uuid.uuid4()}.part"
        path.write_bytes(png)
        os.replace(path, scratch / f"{uuid.uuid4()}.png")

    def add(repository: MySQLImageRepository) -> None:
        repository.add(detail_for(container, 2), content=png, sha256="0" * 64)

    return {
        "png_bytes": len(png),
        "encode_png_ms": timed(lambda: encode_png(image, detail, sampler=sampler, encoder=encoder), repeat),
        "row_insert_commit_ms": timed(lambda: add(rows_only), repeat),
        "disk_put_with_fsync_ms": timed(lambda: container.store.put(None, str(uuid.uuid4()), png), repeat),
        "disk_put_without_fsync_ms": timed(write_no_fsync, repeat),
        "repository_add_total_ms": timed(lambda: add(container.repository), repeat),
    }


def content_ms(container: Container, guid: str, repeat: int = 100) -> float:
    """What ``GET /image/{guid}/content`` does before the file is sent."""
    return timed(lambda: container.repository.content(guid), repeat)


def list_costs(container: Container, repeat: int = 20) -> dict:
    """What ``GET /image/`` does at 100,000 rows, and what a COUNT(*) for X-Total-Count would add."""

    def query(cur, sql: str) -> list:
        cur.execute(sql)
        return cur.fetchall()

    with container.pool.connection() as conn, conn.cursor() as cur:
        page_ms = timed(lambda: query(cur, PAGE_SQL), repeat)
        count_ms = timed(lambda: query(cur, COUNT_SQL), repeat)
    return {
        "sql_page_100_ms": page_ms,
        "sql_count_star_ms": count_ms,
        "repository_list_ms": timed(lambda: container.repository.list(PageQuery()), repeat),
        "repository_count_ms": timed(container.repository.count, repeat),
    }
