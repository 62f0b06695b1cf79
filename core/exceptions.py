"""Every error the service raises: each carries its HTTP status and a client-safe message."""

from __future__ import annotations


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


class PayloadTooLarge(ImageException):
    status_code = 413
    default_message = "request body too large"


class Unauthorized(ImageException):
    status_code = 401
    default_message = "missing or invalid API key"


class ServiceUnavailable(ImageException):
    """A 503: the client may retry after ``retry_after`` seconds."""

    status_code = 503
    retry_after: int = 5


class DatabaseUnavailable(ServiceUnavailable):
    default_message = "database unavailable, try again shortly"


class GeneratorBusy(ServiceUnavailable):
    default_message = "generator busy, try again shortly"
    retry_after = 2


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
