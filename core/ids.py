"""Ids as clients type them: a UUID in any spelling Python accepts, stored in its canonical form."""

from __future__ import annotations

import uuid

from core.exceptions import ImageException, ImageNotFound, JobNotFound


def canonical_uuid(value: str, *, missing: type[ImageException]) -> str:
    """``value`` as a canonical UUID; anything else names nothing, so it is ``missing`` (a 404)."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise missing() from None


def canonical_guid(guid: str) -> str:
    """An image's guid; anything else names no image."""
    return canonical_uuid(guid, missing=ImageNotFound)


def canonical_id(job_id: str) -> str:
    """A job's id; anything else names no job."""
    return canonical_uuid(job_id, missing=JobNotFound)
