"""PyMySQL connections: a small pool, one connection per unit of work and never two threads on one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress

import pymysql
from pymysql.connections import Connection
from pymysql.cursors import DictCursor

from core.settings import Settings

MAX_IDLE = 8
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def open_connection(settings: Settings, *, database: bool = True) -> Connection:
    return pymysql.connect(
        host=settings.db_host,
        port=settings.db_port,
        user=settings.db_user,
        password=settings.db_password.get_secret_value(),
        database=settings.db_name if database else None,
        charset="utf8mb4",
        cursorclass=DictCursor,
        connect_timeout=settings.db_connect_timeout,
        read_timeout=settings.db_read_timeout,
        write_timeout=settings.db_read_timeout,
        autocommit=False,
        # PyMySQL builds a TLS context per connect (~25 ms); on loopback it protects nothing.
        ssl_disabled=settings.db_host in LOOPBACK,
    )


class _Pool:
    """Idle connections, handed to one unit of work at a time and checked before reuse."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._idle: list[Connection] = []
        self._lock = threading.Lock()

    def take(self) -> Connection:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return open_connection(self.settings)
            try:
                conn.ping(reconnect=False)
                return conn
            except pymysql.MySQLError:
                _close(conn)

    def give(self, conn: Connection) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE:
                self._idle.append(conn)
                return
        _close(conn)

    def clear(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            _close(conn)


_pools: dict[tuple, _Pool] = {}
_pools_lock = threading.Lock()


def _close(conn: Connection) -> None:
    with suppress(Exception):
        conn.close()


def _pool_for(settings: Settings) -> _Pool:
    key = (
        settings.db_host, settings.db_port, settings.db_user, settings.db_password.get_secret_value(),
        settings.db_name, settings.db_connect_timeout, settings.db_read_timeout,
    )
    with _pools_lock:
        if key not in _pools:
            _pools[key] = _Pool(settings)
        return _pools[key]


def close_pools() -> None:
    with _pools_lock:
        pools = list(_pools.values())
    for pool in pools:
        pool.clear()


@contextmanager
def connection(settings: Settings, *, commit: bool = False) -> Iterator[Connection]:
    """A pooled connection; back to the pool after a clean exit, closed after an error.

    A clean exit commits or rolls back, so the next user starts with no open snapshot.
    """
    pool = _pool_for(settings)
    conn = pool.take()
    try:
        yield conn
        conn.commit() if commit else conn.rollback()
    except BaseException:
        _close(conn)
        raise
    pool.give(conn)


def transaction(settings: Settings) -> AbstractContextManager[Connection]:
    """Commit when the block succeeds; an error closes the connection, which rolls back."""
    return connection(settings, commit=True)
