"""The pool's ceiling: never more than DB_POOL_MAX connections, and a wait past the timeout is a 503."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import data.connection
from core.exceptions import DatabaseBusy
from data.connection import Pool


@pytest.fixture
def opened(monkeypatch) -> list:
    """Every connection the pool opens, counted where it is opened."""
    connections: list = []
    real = data.connection.open_connection

    def counting(settings, **kwargs):
        connections.append(real(settings, **kwargs))
        return connections[-1]

    monkeypatch.setattr(data.connection, "open_connection", counting)
    return connections


def test_many_concurrent_units_of_work_never_open_more_than_the_maximum(settings, opened):
    pool = Pool(settings.model_copy(update={"db_pool_max": 3, "db_pool_timeout": 30}))
    peak, lock, holding = [0], threading.Lock(), [0]

    def work(_: int) -> None:
        with pool.connection() as conn, conn.cursor() as cur:
            with lock:
                holding[0] += 1
                peak[0] = max(peak[0], holding[0])
            cur.execute("SELECT SLEEP(0.05)")
            with lock:
                holding[0] -= 1

    try:
        with ThreadPoolExecutor(20) as threads:
            list(threads.map(work, range(40)))
    finally:
        pool.close()
    assert len(opened) <= 3
    assert peak[0] <= 3
    assert pool.in_use == 0


def test_a_wait_past_the_timeout_is_database_busy_with_retry_after(settings):
    pool = Pool(settings.model_copy(update={"db_pool_max": 1, "db_pool_timeout": 0.2}))
    try:
        with pool.connection():
            started = time.monotonic()
            with pytest.raises(DatabaseBusy) as caught, pool.connection():
                pass
            assert 0.15 <= time.monotonic() - started < 5
        assert caught.value.status_code == 503 and caught.value.retry_after > 0
        with pool.connection() as conn, conn.cursor() as cur:  # the slot came back
            cur.execute("SELECT 1")
    finally:
        pool.close()


def test_a_failed_unit_of_work_gives_its_slot_back(settings):
    pool = Pool(settings.model_copy(update={"db_pool_max": 1, "db_pool_timeout": 0.2}))
    try:
        with pytest.raises(RuntimeError), pool.transaction():
            raise RuntimeError("the caller failed")
        with pool.connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
        assert pool.in_use == 0
    finally:
        pool.close()
