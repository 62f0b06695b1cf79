"""Create the database and its tables, idempotently. Run: ``python -m data.init``."""

from __future__ import annotations

import sys

from core.settings import Settings, get_settings
from data.connection import open_connection, transaction
from data.schema import CREATE_DATABASE, RECOUNT, SELECT_TRIGGERS, TABLES, TRIGGERS


def init_db(settings: Settings) -> None:
    name = settings.db_name.replace("`", "")
    conn = open_connection(settings, database=False)
    try:
        with conn.cursor() as cur:
            cur.execute(CREATE_DATABASE.format(name=name))
    finally:
        conn.close()
    with transaction(settings) as conn, conn.cursor() as cur:
        for ddl in TABLES:
            cur.execute(ddl)
        cur.execute(SELECT_TRIGGERS)
        present = {row["name"] for row in cur.fetchall()}
        for name, ddl in TRIGGERS.items():
            if name not in present:
                cur.execute(ddl)
        cur.execute(RECOUNT)


def main() -> int:
    settings = get_settings()
    init_db(settings)
    print(f"database {settings.db_name!r} ready on {settings.db_host}:{settings.db_port}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
