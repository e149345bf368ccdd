"""Every failure as `{"error": {"code", "message", "details"}}` with the status it deserves.

ApiError(status, code)        raised by the API itself: 401, 403, 404, 409, 413, 422, 503
RequestValidationError        422 invalid_request, details.fields: [{location, field, message}]
NotFoundError                 404 not_found
ConfigError                   422 invalid_value
IntegrityError                409 conflict (a unique rule of the database)
StorageError                  503 storage_unavailable
VkError                       502 vk_error (resolving a group through VK)
HTTPException (routing)       its status: 400 unreadable body, 404 no such path, 405 method
                              not allowed (with an Allow header naming every method)
anything else                 500 internal_error, logged, never shown
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from parser_pipeline.api.http import allowed_methods
from parser_pipeline.errors import ConfigError, NotFoundError, StorageError, VkError

log = structlog.get_logger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "invalid_request",
    503: "unavailable",
}


class ApiError(Exception):
    """A failure the API names itself: status, a stable code, one line, optional details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = dict(details or {})
        self.headers = dict(headers or {})


def conflict(code: str, message: str, **details: Any) -> ApiError:
    return ApiError(409, code, message, details)


def invalid(field: str, message: str, location: str = "body") -> ApiError:
    """A 422 about one field, shaped like a validation error."""
    fields = [{"location": location, "field": field, "message": message}]
    return ApiError(422, "invalid_request", f"{field}: {message}", {"fields": fields})


def error_response(
    status: int,
    code: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": dict(details or {})}}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def _fields(exc: RequestValidationError) -> list[dict[str, str]]:
    fields = []
    for error in exc.errors():
        location, *path = (str(part) for part in error.get("loc", ()))
        fields.append(
            {
                "location": location,
                "field": ".".join(path) or location,
                "message": str(error.get("msg", "invalid value")),
            }
        )
    return fields


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = _fields(exc)
    message = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:3])
    return error_response(422, "invalid_request", message, {"fields": fields})


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODES.get(exc.status_code, HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_"))
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allowed = allowed_methods(request.app.router, request.scope)
        headers["Allow"] = ", ".join(allowed)
        message = f"{request.method} is not allowed here; use {', '.join(allowed)}"
    return error_response(exc.status_code, code, message, headers=headers)


async def _not_found(_: Request, exc: Exception) -> JSONResponse:
    return error_response(404, "not_found", str(exc))


async def _config(_: Request, exc: Exception) -> JSONResponse:
    return error_response(422, "invalid_value", str(exc))


async def _integrity(request: Request, exc: Exception) -> JSONResponse:
    log.info("api.conflict", path=request.url.path, error=type(exc).__name__)
    return error_response(409, "conflict", "the change conflicts with stored data")


async def _storage(request: Request, exc: Exception) -> JSONResponse:
    log.warning("api.storage_unavailable", path=request.url.path, error=str(exc))
    return error_response(503, "storage_unavailable", str(exc))


async def _vk(request: Request, exc: Exception) -> JSONResponse:
    log.warning("api.vk_error", path=request.url.path, error=str(exc))
    return error_response(502, "vk_error", str(exc))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("api.internal_error", path=request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "an unexpected error; see the server's log")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(ConfigError, _config)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(StorageError, _storage)
    app.add_exception_handler(VkError, _vk)
    app.add_exception_handler(Exception, _unexpected)
