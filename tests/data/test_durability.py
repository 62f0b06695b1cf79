"""Disk writes survive a power cut: the bytes reach the disk before the name points at them."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from data import storage
from data.storage import DiskStore


def test_a_png_is_fsynced_before_it_is_renamed_into_place(tmp_path: Path, monkeypatch) -> None:
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst) -> None:
        events.append(("replace", str(src)))
        real_replace(src, dst)

    monkeypatch.setattr(storage.os, "fsync", fsync)
    monkeypatch.setattr(storage.os, "replace", replace)
    store = DiskStore(tmp_path)
    guid = str(uuid.uuid4())

    store.put(None, guid, b"\x89PNG durable bytes")

    assert [kind for kind, _ in events] == ["fsync", "replace"]
    (_, synced), (_, renamed) = events
    assert synced == renamed, "the file fsynced is the one renamed into place"
    assert store.path_for(guid).read_bytes() == b"\x89PNG durable bytes"
    assert list(tmp_path.iterdir()) == [store.path_for(guid)]
