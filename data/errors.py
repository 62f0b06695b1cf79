"""Driver and filesystem faults become ``core`` exceptions here, so no layer above sees PyMySQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pymysql

from core.exceptions import DatabaseUnavailable, ImageException, StorageError

logger = logging.getLogger(__name__)


@contextmanager
def translate_errors() -> Iterator[None]:
    try:
        yield
    except ImageException:
        raise
    except (pymysql.err.OperationalError, pymysql.err.InterfaceError) as exc:
        logger.warning("database unreachable: %s", exc)
        raise DatabaseUnavailable() from exc
    except pymysql.MySQLError as exc:
        logger.exception("database error")
        raise StorageError("database error") from exc
    except OSError as exc:
        logger.exception("storage error")
        raise StorageError() from exc
