"""An image's stored PNG as every layer above ``data`` sees it: however it is kept, bytes to send."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK_BYTES = 256 * 1024


@dataclass(frozen=True)
class ImageContent:
    """The PNG's hash and size, and its bytes: an open ``handle``, a ``file``, or a ``stream``.

    A store opens ``handle`` when the content is fetched, so a delete that follows cannot cut the bytes
    short (an unlinked file stays readable through it). ``chunks()`` closes it; so does ``close()``.
    """

    sha256: str
    size: int
    file: Path | None = None
    stream: Callable[[], Iterator[bytes]] | None = None
    handle: BinaryIO | None = None

    def chunks(self) -> Iterator[bytes]:
        if self.handle is not None:
            with self.handle:
                while chunk := self.handle.read(CHUNK_BYTES):
                    yield chunk
        elif self.file is not None:
            with self.file.open("rb") as handle:
                while chunk := handle.read(CHUNK_BYTES):
                    yield chunk
        elif self.stream is not None:
            yield from self.stream()

    def read(self) -> bytes:
        return b"".join(self.chunks())

    def close(self) -> None:
        """Release the open file of content that will not be sent."""
        if self.handle is not None:
            self.handle.close()
