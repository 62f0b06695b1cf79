"""``python -m data.migrate`` as an operator runs it: 1,000 images disk → mysql → disk, each leg killed with
SIGKILL after a few batches and run again, while the service's repositories read every image throughout."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.settings import ROOT, Settings
from data.connection import Pool
from data.images import MySQLImageRepository
from data.storage import DiskStore, make_store
from tests.conftest import outside_connection
from tests.data.conftest import make_image

IMAGES = 1000
BATCH = 100
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_ish(n: int) -> bytes:
    """A PNG signature and a few hundred bytes of its own: as cheap as content gets, and never alike."""
    return PNG_SIGNATURE + n.to_bytes(4, "big") + os.urandom(200 + n % 300)


class Reader(threading.Thread):
    """The service's repositories (one per PIXY_STORAGE), reading every image over and over, as clients would."""

    def __init__(self, repositories: list[MySQLImageRepository], expected: dict[str, bytes]) -> None:
        super().__init__(daemon=True)
        self.repositories, self.expected = repositories, expected
        self.stopping = threading.Event()
        self.sweeps = 0
        self.failures: list[str] = []

    def run(self) -> None:
        while not self.stopping.is_set():
            for repository in self.repositories:
                for guid, data in self.expected.items():
                    content = repository.content(guid)
                    if content is None or content.read() != data:
                        self.failures.append(f"{guid} unreadable through {type(repository.store.primary).__name__}")
            self.sweeps += 1

    def wait_sweeps(self, more: int, timeout: float = 120) -> None:
        target, deadline = self.sweeps + more, time.monotonic() + timeout
        while self.sweeps < target and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.sweeps >= target, "the reader stalled"


def migrate(settings: Settings, to: str, *args: str, kill_after: int | None = None) -> tuple[int, list[str]]:
    """Run the command; with ``kill_after``, SIGKILL it once it has reported that many copied batches."""
    env = os.environ | {
        "DB_NAME": settings.db_name,
        "PIXY_IMAGES_DIR": str(settings.pixy_images_dir),
        "PIXY_STORAGE": to,
    }
    command = [sys.executable, "-m", "data.migrate", "--to", to, *args]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines, batches = [], 0
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        batches += line.startswith("copy batch")
        if kill_after is not None and batches == kill_after:
            os.kill(process.pid, signal.SIGKILL)
            break
    process.stdout.close()
    return process.wait(timeout=120), lines


def blobs(settings: Settings) -> dict[str, bytes]:
    with outside_connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT guid, content FROM image_blobs")
        return dict(cur.fetchall())


def files(folder: Path) -> dict[str, bytes]:
    return {path.stem: path.read_bytes() for path in folder.glob("*.png")}


def assert_all_on(settings: Settings, expected: dict[str, bytes], side: dict[str, bytes]) -> None:
    assert side.keys() == expected.keys()
    with outside_connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT guid, content_sha256 FROM images")
        hashes = dict(cur.fetchall())
    for guid, data in side.items():
        assert data == expected[guid]
        assert hashlib.sha256(data).hexdigest() == hashes[guid]


@pytest.fixture
def stored(settings: Settings) -> dict[str, bytes]:
    """1,000 images on disk, as the service with PIXY_STORAGE=disk wrote them."""
    pool = Pool(settings)
    repository = MySQLImageRepository(pool, DiskStore(settings.pixy_images_dir))
    expected: dict[str, bytes] = {}
    for start in range(0, IMAGES, 100):
        items = [(make_image(n), png_ish(n)) for n in range(start, start + 100)]
        repository.add_many(items)
        expected |= {image.guid: data for image, data in items}
    pool.close()
    return expected


@pytest.fixture
def reader(settings: Settings, stored: dict[str, bytes]):
    pool = Pool(settings)
    repositories = [MySQLImageRepository(pool, make_store(configured, pool)) for configured in storages(settings)]
    running = Reader(repositories, stored)
    running.start()
    yield running
    running.stopping.set()
    running.join(timeout=60)
    pool.close()


def storages(settings: Settings) -> list[Settings]:
    return [settings.model_copy(update={"pixy_storage": kind}) for kind in ("disk", "mysql")]


def test_a_round_trip_killed_midway_loses_nothing(settings, stored, reader):
    folder = settings.pixy_images_dir
    sides = {"mysql": lambda: blobs(settings), "disk": lambda: files(folder)}
    for source, target in (("disk", "mysql"), ("mysql", "disk")):
        reader.wait_sweeps(1)
        code, lines = migrate(settings, target, "--batch", str(BATCH), "--pause", "0.3", kill_after=3)
        assert code == -signal.SIGKILL, lines
        partly = len(sides[target]())
        assert 3 * BATCH <= partly < IMAGES, lines
        reader.wait_sweeps(1)  # every image still reads, with the run dead mid-way

        code, lines = migrate(settings, target, "--batch", str(BATCH))
        assert code == 0, "\n".join(lines)
        summary = next(line for line in lines if line.startswith("copied "))
        assert f"copied {IMAGES - partly} images" in summary and f"{partly} were on {target} already" in summary
        assert_all_on(settings, stored, sides[target]())
        assert sides[source]() == {}  # the source's copies went once all were verified
        assert not list(folder.glob("*.migrating"))
        reader.wait_sweeps(1)
    assert reader.failures == []
    assert reader.sweeps >= 6
