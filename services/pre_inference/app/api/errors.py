"""One error shape for every answer: {"error": {"code", "message", "fields"?}}.

FastAPI's own handlers (validation, HTTPException, unknown routes, 405) are replaced so a
client never has to parse two formats, and nothing a client sends can produce a 500.
"""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from redis.exceptions import RedisError
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError, TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("pre_inference.errors")

_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}
_LOCATION_KINDS = ("body", "query", "path", "header", "cookie")


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, *, fields: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None, retry_after: int | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers
        self.retry_after = retry_after


def error_response(
    status: int, code: str, message: str, *, fields: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None, retry_after: int | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    if retry_after is not None:
        body["retry_after"] = retry_after
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = list(loc)
    if len(parts) > 1 and parts[0] in _LOCATION_KINDS:
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or "body"


def _message(error: dict[str, Any]) -> str:
    if error.get("type") == "extra_forbidden":
        return "unknown field"
    if error.get("type") == "missing":
        return "this field is required"
    return str(error.get("msg", "invalid value"))


def validation_fields(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for error in errors:
        fields.setdefault(_field_name(tuple(error.get("loc", ()))), []).append(_message(error))
    return fields


async def _on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "invalid_json", "the request body is not valid JSON")
    fields = validation_fields(errors)
    return error_response(422, "validation_error", "some fields are invalid: " + ", ".join(sorted(fields)), fields=fields)


async def _on_api_error(request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message, fields=exc.fields, headers=exc.headers, retry_after=exc.retry_after)


async def _on_http_exception(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _STATUS_CODES.get(exc.status_code, "error" if exc.status_code >= 500 else "bad_request")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = f"no route for {request.url.path}"
    if exc.status_code == 405:
        message = f"{request.method} is not allowed here"
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def _on_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.error("database unavailable: %r", exc)
    return error_response(503, "service_unavailable", "the job store is unavailable; try again shortly", headers={"Retry-After": "5"})


async def _on_events_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # Redis (job change notices, rate limits) away or too slow: a bounded call gave up.
    log.error("redis unavailable on %s: %r", request.url.path, exc)
    return error_response(503, "service_unavailable", "live updates are unavailable; try again shortly", headers={"Retry-After": "5"})


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "something went wrong on our side")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(OperationalError, _on_database_unavailable)
    app.add_exception_handler(InterfaceError, _on_database_unavailable)
    app.add_exception_handler(PoolTimeoutError, _on_database_unavailable)
    app.add_exception_handler(RedisError, _on_events_unavailable)
    app.add_exception_handler(TimeoutError, _on_events_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)

