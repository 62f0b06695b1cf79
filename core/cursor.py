"""The paging cursor a ``Link`` header carries: an opaque token for a position in the history.

It names the position, not an image, so deleting the image a page ended on does not end the paging.
"""

from __future__ import annotations

import base64
import binascii

from core.exceptions import InvalidInput

_PREFIX = "p"
_MAX_POSITION = 2**63 - 1


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{position}".encode()).decode().rstrip("=")


def decode_cursor(token: str) -> int:
    """The position a token from ``encode_cursor`` names; anything else is a 422 on ``cursor``."""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        position = int(text.removeprefix(_PREFIX)) if text.startswith(_PREFIX) else -1
    except (binascii.Error, UnicodeDecodeError, ValueError):
        position = -1
    if not 0 < position <= _MAX_POSITION:
        raise InvalidInput("cursor: not a cursor from a Link header", field="cursor")
    return position
