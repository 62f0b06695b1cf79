"""An image's stored PNG as every layer above ``data`` sees it: however it is kept, bytes to send."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK_BYTES = 256 * 1024


@dataclass(frozen=True)
class ImageContent:
    """The PNG's hash and size, and its bytes: a ``file`` that may be sent as it is, else ``stream``."""

    sha256: str
    size: int
    file: Path | None = None
    stream: Callable[[], Iterator[bytes]] | None = None

    def chunks(self) -> Iterator[bytes]:
        if self.file is not None:
            with self.file.open("rb") as handle:
                while chunk := handle.read(CHUNK_BYTES):
                    yield chunk
        elif self.stream is not None:
            yield from self.stream()

    def read(self) -> bytes:
        return b"".join(self.chunks())
