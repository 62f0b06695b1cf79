"""Content fetched is content sent: a delete that follows cannot cut it, and no connection waits on a reader."""

from __future__ import annotations

import hashlib
import os

from core.content import CHUNK_BYTES


def test_content_fetched_before_a_delete_still_reads_whole(repository, new_image):
    image, data = new_image(), os.urandom(3 * CHUNK_BYTES + 7)
    repository.add(image, content=data, sha256=hashlib.sha256(data).hexdigest())
    content = repository.content(image.guid)
    assert repository.delete(image.guid)
    assert repository.content(image.guid) is None
    assert content.read() == data


def test_a_slow_reader_holds_no_connection_between_chunks(repository, pool, new_image):
    image, data = new_image(), os.urandom(3 * CHUNK_BYTES)
    repository.add(image, content=data, sha256=hashlib.sha256(data).hexdigest())
    chunks = repository.content(image.guid).chunks()
    received = [next(chunks)]
    assert pool.in_use == 0
    received += list(chunks)
    assert b"".join(received) == data
