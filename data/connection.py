"""PyMySQL connections: a small pool, one connection per unit of work and never two threads on one."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress

import pymysql
from pymysql.connections import Connection
from pymysql.cursors import DictCursor

from core.exceptions import DatabaseBusy
from core.settings import Settings
from data.errors import translate_errors

MAX_IDLE = 8
# A connection handed back less than this long ago is reused without a ping: at 150 units of work a second the
# ping was a third of all round trips. A connection that died meanwhile fails its unit of work (a 503), and
# that error drops every idle connection, which shared its server.
PING_AFTER_IDLE_S = 1.0
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


def _close(conn: Connection) -> None:
    with suppress(Exception):
        conn.close()


class Pool:
    """Idle connections of one database, handed to one unit of work at a time and checked before reuse when
    they have been idle ``PING_AFTER_IDLE_S`` or more.

    At most ``db_pool_max`` units of work hold a connection at once; a new one is opened only when none is
    idle, so no more than that many are ever open. Waiting longer than ``db_pool_timeout`` is ``DatabaseBusy``.
    Every use is wrapped in ``translate_errors``, so callers see ``core`` exceptions, never the driver's.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._idle: list[tuple[Connection, float]] = []  # with when each was handed back
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(settings.db_pool_max)
        self._in_use = 0

    @property
    def in_use(self) -> int:
        """Units of work holding a connection now."""
        return self._in_use

    def connection(self) -> AbstractContextManager[Connection]:
        """For reads: the unit of work ends with a rollback, so the next user starts with no open snapshot."""
        return self._use(commit=False)

    def transaction(self) -> AbstractContextManager[Connection]:
        """For writes: commit when the block succeeds; an error closes the connection, which rolls back."""
        return self._use(commit=True)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            _close(conn)

    @contextmanager
    def _use(self, *, commit: bool) -> Iterator[Connection]:
        with translate_errors():
            if not self._slots.acquire(timeout=self.settings.db_pool_timeout):
                raise DatabaseBusy()
            try:
                conn = self._take()
                with self._lock:
                    self._in_use += 1
                try:
                    yield conn
                    conn.commit() if commit else conn.rollback()
                except BaseException as exc:
                    _close(conn)
                    if isinstance(exc, (pymysql.OperationalError, pymysql.InterfaceError)):
                        self.close()  # the server may have gone: the idle ones, not pinged, would fail next
                    raise
                finally:
                    with self._lock:
                        self._in_use -= 1
                self._give(conn)
            finally:
                self._slots.release()

    def _take(self) -> Connection:
        while True:
            with self._lock:
                conn, given_back = self._idle.pop() if self._idle else (None, 0.0)
            if conn is None:
                return open_connection(self.settings)
            if time.monotonic() - given_back < PING_AFTER_IDLE_S:
                return conn
            try:
                conn.ping(reconnect=False)
                return conn
            except pymysql.MySQLError:
                _close(conn)

    def _give(self, conn: Connection) -> None:
        with self._lock:
            if len(self._idle) < min(MAX_IDLE, self.settings.db_pool_max):
                self._idle.append((conn, time.monotonic()))
                return
        _close(conn)
