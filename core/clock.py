"""The one clock every layer reads, so stored times compare and round-trip."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """UTC, naive, at the microsecond precision DATETIME(6) keeps, so it round-trips."""
    return datetime.now(UTC).replace(tzinfo=None)
