"""Every error the service raises: each carries its HTTP status and a client-safe message."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Where FastAPI says a value came from; the client named only the field after it.
_SOURCES = ("body", "query", "path", "header")
_NOT_AN_OBJECT = ("model_type", "model_attributes_type", "dict_type")


class ImageException(Exception):
    """Base of all PixyProxy errors. ``message`` is safe to show a client."""

    status_code: int = 500
    default_message: str = "internal error"

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message or self.default_message
        self.field = field
        super().__init__(self.message)


class ImageNotFound(ImageException):
    status_code = 404
    default_message = "image not found"


class AssetNotFound(ImageException):
    status_code = 404
    default_message = "not found"


class InvalidInput(ImageException):
    status_code = 422
    default_message = "invalid input"

    def __init__(self, message: str | None = None, *, field: str | None = None, errors: list[dict] | None = None):
        super().__init__(message, field=field)
        self.errors = errors or []

    @classmethod
    def from_validation(cls, errors: Sequence[Mapping[str, Any]]) -> InvalidInput:
        """The one reading of pydantic's (or FastAPI's) error list: the first error names ``field``."""
        found = [_field_error(error) for error in errors] or [{"field": "body", "message": "invalid"}]
        first = found[0]
        return cls(f"{first['field']}: {first['message']}", field=first["field"], errors=found)


class PayloadTooLarge(ImageException):
    status_code = 413
    default_message = "request body too large"


class UnsupportedMediaType(ImageException):
    status_code = 415
    default_message = "the body must be application/json"


class RequestTimeout(ImageException):
    status_code = 408
    default_message = "the request body arrived too slowly"


class RequestAbandoned(ImageException):
    """The client went away before its images were made: nothing is stored, and no one reads the answer."""

    status_code = 499  # nginx's "client closed request", so the request log tells it from a failure
    default_message = "the client disconnected before its images were made"


class Unauthorized(ImageException):
    status_code = 401
    default_message = "missing or invalid API key"


class ServiceUnavailable(ImageException):
    """A 503: the client may retry after ``retry_after`` seconds."""

    status_code = 503
    retry_after: int = 5


class DatabaseUnavailable(ServiceUnavailable):
    default_message = "database unavailable, try again shortly"


class DatabaseBusy(ServiceUnavailable):
    """Every pooled connection stayed in use for the whole wait."""

    default_message = "database busy, try again shortly"
    retry_after = 1


class GeneratorBusy(ServiceUnavailable):
    default_message = "generator busy, try again shortly"
    retry_after = 2


class TooManyQueued(ServiceUnavailable):
    default_message = "too many jobs are queued (PIXY_MAX_QUEUED_JOBS); try again shortly"
    retry_after = 5


class GeneratorOutOfMemory(ServiceUnavailable):
    default_message = "the generator ran out of memory; try a smaller size or fewer images"
    retry_after = 1


class GenerationFailed(ImageException):
    status_code = 500
    default_message = "image generation failed"


class StorageError(ImageException):
    status_code = 500
    default_message = "image storage failed"


class ModelUnavailable(ImageException):
    status_code = 500
    default_message = "the configured model could not be loaded"


class ModelNotReady(ServiceUnavailable):
    """A model this server lists cannot run now: its weights are missing, or it failed to load."""

    default_message = "the model asked for is unavailable"
    retry_after = 30


def _field_error(error: Mapping[str, Any]) -> dict:
    loc = error.get("loc", ())
    field = ".".join(str(part) for part in loc if part not in _SOURCES) or "body"
    if error.get("type") == "json_invalid":
        field = "body"  # not the byte offset pydantic appends
    if not loc and error.get("type") in _NOT_AN_OBJECT:
        return {"field": "body", "message": "must be a JSON object"}
    return {"field": field, "message": error.get("msg", "invalid")}


class JobNotFound(ImageException):
    status_code = 404
    default_message = "job not found"


class JobFinished(ImageException):
    status_code = 409
    default_message = "the job has already finished"


class BrokerUnavailable(ServiceUnavailable):
    """Distributed mode: the Celery broker cannot take the job now; nothing of it was kept."""

    default_message = "the job queue is unavailable, try again shortly"
    retry_after = 5


class NoWorkers(ServiceUnavailable):
    """Distributed mode: no GPU worker has ever registered, so no model's defaults are known yet."""

    default_message = "no GPU worker has started yet; start one with make worker"
    retry_after = 10
