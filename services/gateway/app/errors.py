"""The platform's error format: {"error": {"code", "message", "fields"?}}."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

_STATUS_CODES = {
    400: "bad_request", 401: "not_authenticated", 403: "permission_denied", 404: "not_found",
    405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type", 429: "rate_limited",
}


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, *, fields: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.extra = extra
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, **(extra or {})}
    if fields:
        error["fields"] = fields
    return {"error": error}


def error_response(
    status: int, code: str, message: str, *, fields: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, fields, extra), status_code=status, headers=headers)


async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message, fields=exc.fields, headers=exc.headers, extra=exc.extra)


async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _STATUS_CODES.get(exc.status_code, "error" if exc.status_code < 500 else "internal_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    fields: dict[str, list[str]] = {}
    for item in exc.errors():
        name = ".".join(str(p) for p in item.get("loc", ())[1:]) or "request"
        fields.setdefault(name, []).append(item.get("msg", "invalid"))
    return error_response(400, "validation_error", "the request is not valid", fields=fields)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
