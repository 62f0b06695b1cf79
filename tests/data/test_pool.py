"""The pool's ceiling: never more than DB_POOL_MAX connections, and a wait past the timeout is a 503."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pymysql
import pytest

import data.connection
from core.exceptions import DatabaseBusy, DatabaseUnavailable
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


def _connection_id(pool: Pool) -> int:
    with pool.connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID() AS id")
        return cur.fetchone()["id"]


def _kill(settings, connection_id: int) -> None:
    killer = data.connection.open_connection(settings)
    try:
        with killer.cursor() as cur:
            cur.execute("KILL %(id)s", {"id": connection_id})
    finally:
        killer.close()


def test_a_connection_idle_past_the_threshold_is_pinged_and_replaced_if_dead(settings, monkeypatch):
    monkeypatch.setattr(data.connection, "PING_AFTER_IDLE_S", 0.0)
    pool = Pool(settings)
    try:
        first = _connection_id(pool)
        _kill(settings, first)
        assert _connection_id(pool) != first  # the ping found it dead: a fresh one, no error
    finally:
        pool.close()


def test_a_recently_used_connection_is_not_pinged(settings, monkeypatch):
    pings = []
    monkeypatch.setattr(pymysql.connections.Connection, "ping", lambda self, *a, **k: pings.append(self))
    monkeypatch.setattr(data.connection, "PING_AFTER_IDLE_S", 60.0)
    pool = Pool(settings)
    try:
        assert _connection_id(pool) == _connection_id(pool)
        assert pings == []
    finally:
        pool.close()


def test_a_dead_connection_fails_one_unit_of_work_and_takes_the_idle_ones_with_it(settings, monkeypatch):
    """Unpinged reuse: the unit of work on a connection that died is a 503; every idle connection, which
    shared its server, is dropped, so the next unit of work opens a fresh one and succeeds."""
    monkeypatch.setattr(data.connection, "PING_AFTER_IDLE_S", 60.0)
    pool = Pool(settings.model_copy(update={"db_pool_max": 4}))
    try:
        with pool.connection(), pool.connection() as second, second.cursor() as cur:  # two idle afterwards
            cur.execute("SELECT CONNECTION_ID() AS id")
            others = {cur.fetchone()["id"]}
        ids = {_connection_id(pool), _connection_id(pool)}
        for connection_id in ids | others:
            _kill(settings, connection_id)
        with pytest.raises(DatabaseUnavailable):
            _connection_id(pool)
        assert _connection_id(pool) not in ids | others
    finally:
        pool.close()
