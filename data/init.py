"""Create the database and its tables, idempotently. Run: ``python -m data.init``."""

from __future__ import annotations

import sys

from core.exceptions import ImageException
from core.settings import Settings, get_settings
from data.connection import open_connection
from data.errors import translate_errors
from data.schema import CREATE_DATABASE, MIGRATIONS, RECOUNT, SELECT_TRIGGERS, TABLES, TRIGGERS


@translate_errors()
def init_db(settings: Settings) -> None:
    name = settings.db_name.replace("`", "")
    conn = open_connection(settings, database=False)
    try:
        with conn.cursor() as cur:
            cur.execute(CREATE_DATABASE.format(name=name))
            conn.select_db(name)
            for ddl in TABLES + MIGRATIONS:
                cur.execute(ddl)
            cur.execute(SELECT_TRIGGERS)
            present = {row["name"] for row in cur.fetchall()}
            for trigger, ddl in TRIGGERS.items():
                if trigger not in present:
                    cur.execute(ddl)
            cur.execute(RECOUNT)
        conn.commit()
    finally:
        conn.close()


def main() -> int:
    settings = get_settings()
    try:
        init_db(settings)
    except ImageException as exc:
        print(f"data.init: {exc.message} ({settings.db_host}:{settings.db_port})", file=sys.stderr)
        return 1
    print(f"database {settings.db_name!r} ready on {settings.db_host}:{settings.db_port}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
