"""The one exception handler: every error becomes JSON with ``detail``, nothing internal leaks.

Paths under ``/v1`` answer in OpenAI's error dialect, where an invalid request is a 400.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import Scope

from core.exceptions import ImageException, InvalidInput, RequestTimeout, ServiceUnavailable, Unauthorized

logger = logging.getLogger(__name__)
OPENAI_PREFIX = "/v1/"


def as_image_exception(exc: Exception) -> ImageException:
    if isinstance(exc, ImageException):
        return exc
    if isinstance(exc, RequestValidationError):
        return InvalidInput.from_validation(exc.errors())
    if isinstance(exc, HTTPException) and exc.status_code == 400:  # FastAPI could not decode the body
        return InvalidInput("body: not valid UTF-8 JSON", field="body")
    if isinstance(exc, HTTPException):
        generic = ImageException(str(exc.detail) if exc.status_code < 500 else None)
        generic.status_code = exc.status_code
        return generic
    logger.error("unhandled error", exc_info=exc)
    return ImageException()


def _openai_body(error: ImageException, status: int) -> dict:
    kind = "authentication_error" if status == 401 else "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": error.message, "type": kind, "param": error.field, "code": None}}


def _native_body(error: ImageException, request_id: str) -> dict:
    body = {"detail": error.message, "request_id": request_id}
    if error.field:
        body["field"] = error.field
    if isinstance(error, InvalidInput) and error.errors:
        body["errors"] = error.errors
    return body


def error_response(exc: Exception, *, request_id: str, path: str) -> JSONResponse:
    error = as_image_exception(exc)
    if error is exc and error.status_code >= 500 and not isinstance(error, ServiceUnavailable):
        # The client gets the safe message; the log gets the cause, under this request's id.
        logger.error("%s: %s", type(error).__name__, error.message, exc_info=error)
    headers = {}
    if isinstance(error, ServiceUnavailable):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, RequestTimeout):  # the rest of a trickled body must not keep the connection open
        headers["Connection"] = "close"
    if path.startswith(OPENAI_PREFIX):
        status = 400 if isinstance(error, InvalidInput) else error.status_code
        return JSONResponse(_openai_body(error, status), status_code=status, headers=headers)
    return JSONResponse(_native_body(error, request_id), status_code=error.status_code, headers=headers)


async def handle_error(request: Request, exc: Exception) -> JSONResponse:
    return error_response(exc, request_id=request.state.request_id, path=request.url.path)


def error_app(scope: Scope, exc: Exception) -> JSONResponse:
    """The same handler for errors raised before FastAPI routes a request (see request_log)."""
    return error_response(exc, request_id=scope.get("state", {}).get("request_id", "-"), path=scope["path"])


def install(app: FastAPI) -> None:
    for kind in (ImageException, RequestValidationError, HTTPException, Exception):
        app.add_exception_handler(kind, handle_error)
