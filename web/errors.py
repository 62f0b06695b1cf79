"""The one exception handler: every error becomes JSON with ``detail``, nothing internal leaks."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import Scope

from core.exceptions import ImageException, InvalidInput, ServiceUnavailable, Unauthorized

logger = logging.getLogger(__name__)


def _field(loc: tuple) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _from_validation(exc: RequestValidationError) -> tuple[ImageException, list[dict]]:
    errors = [
        {
            "field": "body" if e.get("type") == "json_invalid" else _field(tuple(e.get("loc", ()))),
            "message": e.get("msg", "invalid"),
        }
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"field": "body", "message": "invalid"}
    return InvalidInput(f"{first['field']}: {first['message']}", field=first["field"]), errors


def as_image_exception(exc: Exception) -> tuple[ImageException, list[dict]]:
    if isinstance(exc, ImageException):
        return exc, []
    if isinstance(exc, RequestValidationError):
        return _from_validation(exc)
    if isinstance(exc, HTTPException) and exc.status_code == 400:  # FastAPI could not decode the body
        return InvalidInput("body: not valid UTF-8 JSON", field="body"), []
    if isinstance(exc, HTTPException):
        generic = ImageException(str(exc.detail) if exc.status_code < 500 else None)
        generic.status_code = exc.status_code
        return generic, []
    logger.error("unhandled error", exc_info=exc)
    return ImageException(), []


def error_response(exc: Exception, *, request_id: str, path: str) -> JSONResponse:
    error, errors = as_image_exception(exc)
    headers = {}
    if isinstance(error, ServiceUnavailable):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    if path.startswith("/v1/"):
        body = {
            "error": {
                "message": error.message,
                "type": _openai_type(error.status_code),
                "param": error.field,
                "code": None,
            }
        }
    else:
        body = {"detail": error.message, "request_id": request_id}
        if error.field:
            body["field"] = error.field
        if errors:
            body["errors"] = errors
    return JSONResponse(body, status_code=error.status_code, headers=headers)


def _openai_type(status: int) -> str:
    if status == 401:
        return "authentication_error"
    return "invalid_request_error" if status < 500 else "server_error"


async def handle_error(request: Request, exc: Exception) -> JSONResponse:
    return error_response(exc, request_id=request.state.request_id, path=request.url.path)


def error_app(scope: Scope, exc: Exception) -> JSONResponse:
    """The same handler for errors raised before FastAPI routes a request (see request_log)."""
    return error_response(exc, request_id=scope.get("state", {}).get("request_id", "-"), path=scope["path"])


def install(app: FastAPI) -> None:
    for kind in (ImageException, RequestValidationError, HTTPException, Exception):
        app.add_exception_handler(kind, handle_error)
