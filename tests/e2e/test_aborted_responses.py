"""On the real server: a client that leaves mid-image is logged as aborted; slow readers hold no connections."""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import time
from urllib.parse import urlsplit

from bench.server import start_server
from data.connection import Pool
from data.images import MySQLImageRepository
from data.storage import DiskStore, MySQLStore
from tests.conftest import outside_connection
from tests.data.conftest import make_image

BIG = 48 * 1024 * 1024  # well past what loopback socket buffers hold, so the server is still sending


def end_line(server, path: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ends = [line for line in server.lines() if f"REQUEST END GET {path} " in line]
        if ends:
            return ends[-1]
        time.sleep(0.1)
    raise AssertionError(f"no END line for {path}:\n{server.tail()}")


def test_a_client_that_leaves_mid_body_is_logged_as_aborted(server, settings, tmp_path):
    pool = Pool(settings)
    image, data = make_image(), os.urandom(BIG)
    MySQLImageRepository(pool, DiskStore(tmp_path / "images")).add(
        image, content=data, sha256=hashlib.sha256(data).hexdigest()
    )
    pool.close()
    path = f"/image/{image.guid}/content"
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, as a crash would
    line = end_line(server, path)
    assert line.endswith(" aborted") and f" {path} 200 route=" in line, line


def server_connections(settings) -> int:
    """The server's MariaDB connections to the test database, counted from outside."""
    with outside_connection(settings) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID()",
            (settings.db_name,),
        )
        return cur.fetchone()[0]


def test_slow_readers_of_a_blob_hold_no_more_connections_than_the_pool_allows(settings, tmp_path):
    running = start_server(settings, tmp_path, PIXY_STORAGE="mysql", DB_POOL_MAX="4")
    try:
        pool = Pool(settings)
        image, data = make_image(), os.urandom(6 * 1024 * 1024)
        MySQLImageRepository(pool, MySQLStore(pool)).add(image, content=data, sha256=hashlib.sha256(data).hexdigest())
        pool.close()
        address = urlsplit(running.url)
        readers = [socket.create_connection((address.hostname, address.port), timeout=10) for _ in range(20)]
        for sock in readers:
            sock.sendall(f"GET /image/{image.guid}/content HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        for sock in readers:  # each has its answer started, and reads no further
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        assert server_connections(settings) <= 4
        for sock in readers:
            sock.close()
        time.sleep(1)
        assert server_connections(settings) <= 4
    finally:
        running.stop()
