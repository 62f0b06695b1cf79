"""What a JPEG will cost to decode, read from its markers alone: how many scans (SOS segments) it has.

A progressive JPEG's decoder passes over every block once per scan, so a file of thousands of tiny scans
takes minutes to decode though it weighs a few KB.
"""

from __future__ import annotations

import re

START = b"\xff\xd8"  # SOI
_SCAN, _END, _TEM = 0xDA, 0xD9, 0x01
# A marker: 0xFF (any number of fill 0xFF before it), then a byte that is not 0x00 (a stuffed 0xFF in
# entropy-coded data) nor 0xD0-0xD7 (a restart, which also carries no length).
_MARKER = re.compile(rb"\xff+([^\x00\xd0-\xd7\xff])")


def count_scans(data: bytes) -> int:
    """The scans of the JPEG in ``data`` (0 if it is none), counted up to its end-of-image marker.

    Segments are skipped by their length, as a decoder does, so a marker's bytes inside one (a comment, an
    EXIF thumbnail) do not count; the search that finds the next marker also passes over entropy-coded data.
    """
    if not data.startswith(START):
        return 0
    scans, position = 0, len(START)
    while found := _MARKER.search(data, position):
        marker, position = found[1][0], found.end()
        if marker == _END:
            break
        if marker == _TEM:
            continue
        position += int.from_bytes(data[position : position + 2], "big")
        scans += marker == _SCAN
    return scans
