"""Issue 10.4: liveness and metrics answer while the database is stuck and every worker thread waits on it."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import outside_connection

STUCK = 30  # seconds a request may wait on the locked table (read timeout) or for a pooled connection
THREADS = 45  # more than Starlette's thread pool (40), so sync routes are all taken
ANSWER_WITHIN = 10  # generous: the lock is held far longer than this


def test_health_metrics_and_ready_answer_while_images_is_locked_and_the_thread_pool_is_full(make_client, settings):
    client = make_client(db_read_timeout=STUCK, db_pool_timeout=STUCK, pixy_ready_timeout=0.5)
    assert client.post("/image/", json={"prompt": "counted", "steps": 1}).status_code == 200
    assert "pixy_images_stored 1.0" in client.get("/metrics").text
    with outside_connection(settings) as conn, conn.cursor() as cur, ThreadPoolExecutor(THREADS + 3) as pool:
        cur.execute("LOCK TABLES images WRITE")
        try:
            blocked = [pool.submit(client.get, "/image/") for _ in range(THREADS)]
            time.sleep(2)  # they now hold every worker thread, waiting on the lock or for a connection
            started = time.monotonic()
            health = pool.submit(client.get, "/health").result(timeout=ANSWER_WITHIN)
            metrics = pool.submit(client.get, "/metrics").result(timeout=ANSWER_WITHIN)
            ready = pool.submit(client.get, "/ready").result(timeout=ANSWER_WITHIN)
            took = time.monotonic() - started
            still_blocked = not any(future.done() for future in blocked)
        finally:
            cur.execute("UNLOCK TABLES")
        for future in blocked:
            future.result(timeout=STUCK * 2)
    assert still_blocked, "the lock did not hold the list requests; the test proves nothing"
    assert took < ANSWER_WITHIN
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert metrics.status_code == 200 and "pixy_images_stored 1.0" in metrics.text
    assert ready.status_code == 503 and ready.json()["database"] is False


def test_ready_is_ready_again_once_the_database_answers(make_client):
    client = make_client(pixy_ready_timeout=0.5)
    assert client.get("/ready").status_code == 200
    assert client.get("/ready").json()["database"] is True
