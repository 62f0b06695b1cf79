"""Idempotency-Key (IETF httpapi draft): one key, one body, one job, for 24 hours."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from core.exceptions import InvalidInput
from data.idempotency import KeyClaim, KeyOwner

HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 255
KEY_TTL = timedelta(hours=24)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fingerprint(body: Any) -> str:
    """The request as validated, so key order, spacing and spelled-out defaults do not make it "different"."""
    data = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_as_json)
    return _sha256(text)


def _as_json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"not JSON: {type(value).__name__}")


def key_claim(raw: str | None, *, route: str, body: Any, at: datetime) -> KeyClaim | None:
    """The claim a request's ``Idempotency-Key`` makes, or None without one; a bad key is a 422 naming it."""
    if raw is None:
        return None
    key = raw.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':  # the draft's structured-field string form
        key = key[1:-1]
    if not key:
        raise InvalidInput(f"{HEADER}: must not be empty", field=HEADER)
    if len(key) > MAX_KEY_CHARS:
        raise InvalidInput(f"{HEADER}: must be at most {MAX_KEY_CHARS} characters", field=HEADER)
    return KeyClaim(route=route, key_sha256=_sha256(key), body_sha256=fingerprint(body), expired_before=at - KEY_TTL)


def check_owner(owner: KeyOwner, claim: KeyClaim) -> None:
    """A key already used for another body is the client's mistake, not a replay."""
    if owner.body_sha256 != claim.body_sha256:
        raise InvalidInput(f"{HEADER}: already used with a different request body", field=HEADER)
