"""``python -m bench.photo_server``: ``python -m web`` with the photo-like stand-in generator.

The generator is bench/photo_generator.py; everything else is the real service: HTTP, the job path,
PNG encoding, the store and MySQL.
"""

from __future__ import annotations

from bench.photo_generator import PhotoGenerator
from web.__main__ import main

if __name__ == "__main__":
    main(generator=PhotoGenerator())
