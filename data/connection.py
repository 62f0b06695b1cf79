"""One PyMySQL connection per unit of work: connections are not thread-safe."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pymysql
from pymysql.connections import Connection
from pymysql.cursors import DictCursor

from core.settings import Settings


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
    )


@contextmanager
def transaction(settings: Settings) -> Iterator[Connection]:
    """Commit when the block succeeds, roll back when it raises, always close."""
    conn = open_connection(settings)
    try:
        yield conn
        conn.commit()
    except BaseException:
        with suppress(pymysql.MySQLError):
            conn.rollback()
        raise
    finally:
        with suppress(pymysql.MySQLError):
            conn.close()
