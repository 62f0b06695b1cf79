"""Start-up checks of the distributed mode: each failure is one clear line and a non-zero exit."""

from __future__ import annotations

from kombu import Connection

from core.exceptions import ImageException
from core.settings import Settings
from data.connection import Pool
from data.init import init_db
from data.nodes import Node, NodeRepository
from service.distributed.nodes import check_peers, identity, lease_s, node_name


def broker_problem(settings: Settings, timeout: float = 3.0) -> str | None:
    url = settings.pixy_broker_url.strip()
    if not url.startswith(("amqp://", "amqps://", "pyamqp://", "redis://", "rediss://")):
        return f"PIXY_BROKER_URL must be an amqp:// or redis:// URL, not {url.split('://')[0]!r}"
    conn = Connection(url, connect_timeout=timeout)  # opens nothing until asked
    try:
        conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:
        return f"broker {conn.as_uri()} unreachable: {exc}"  # as_uri masks the password
    finally:
        conn.release()
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
    problem = broker_problem(settings) or database_problem(settings)
    return problem or peer_problem(settings, identity(settings, name=node_name(settings, "api"), role="api"))
