"""Start-up checks of the distributed mode: each failure is one clear line and a non-zero exit."""

from __future__ import annotations

from kombu import Connection

from core.exceptions import ImageException
from core.settings import Settings
from data.connection import Pool
from data.init import init_db
from data.nodes import Node, NodeRepository
from service.distributed.nodes import check_peers, lease_s


def broker_problem(settings: Settings, timeout: float = 3.0) -> str | None:
    url = settings.pixy_broker_url.strip()
    if not url.startswith(("amqp://", "amqps://", "pyamqp://", "redis://", "rediss://")):
        return f"PIXY_BROKER_URL must be an amqp:// or redis:// URL, not {url.split('://')[0]!r}"
    try:
        with Connection(url, connect_timeout=timeout) as conn:
            safe = conn.as_uri()  # the password masked
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:
        return f"broker {safe if 'safe' in locals() else 'URL'} unreachable: {exc}"
    return None


def database_problem(settings: Settings) -> str | None:
    try:
        init_db(settings)
    except ImageException as exc:
        return f"database {settings.db_host}:{settings.db_port}/{settings.db_name}: {exc.message}"
    return None


def peer_problem(settings: Settings, me: Node) -> str | None:
    pool = Pool(settings)
    try:
        return check_peers(NodeRepository(pool), me, within_s=lease_s(settings))
    except ImageException as exc:
        return f"database: {exc.message}"
    finally:
        pool.close()


def api_problem(settings: Settings) -> str | None:
    """Why an API process of the distributed mode must not start, or None."""
    from service.distributed.nodes import identity, node_name

    problem = broker_problem(settings) or database_problem(settings)
    return problem or peer_problem(settings, identity(settings, name=node_name(settings, "api"), role="api"))
