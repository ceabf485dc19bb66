"""The FastAPI face of the kit: the platform error body for every refusal, the production
guard as a pydantic-settings base class, and strict JSON request bodies.

Imported only by the FastAPI services (gateway, pre_inference); the core modules it wraps
stay free of any framework.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import model_validator
from pydantic_settings import BaseSettings
from starlette.exceptions import HTTPException as StarletteHTTPException

from .errors import error_body, internal_error_body, invalid_fields_message
from .guard import refuse
from .request_ids import REQUEST_ID_HEADER, current_request_id, safe_request_id
from .strict_json import JsonLimits, JsonRejected, load_strict_json

log = logging.getLogger("atelier_kit.errors")

# The codes CONTRIBUTING.md lists for the statuses frameworks raise on their own.
STATUS_CODES = {
    400: "bad_request", 401: "not_authenticated", 403: "permission_denied", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 413: "payload_too_large", 415: "unsupported_media_type",
    429: "rate_limited",
}
_LOCATION_KINDS = ("body", "query", "path", "header", "cookie")


class ApiError(HTTPException):
    """A refusal with its own code. An HTTPException, so FastAPI passes it through unchanged
    even where it raises from reading the request body."""

    def __init__(self, status: int, code: str, message: str, *, fields: dict[str, list[str]] | None = None,
                 headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None):
        super().__init__(status_code=status, detail=message, headers=headers)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.extra = extra

    def __str__(self) -> str:
        return self.message


def error_response(status: int, code: str, message: str, *, fields: dict[str, list[str]] | None = None,
                   headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, fields, extra), status_code=status, headers=headers)


def internal_error_response(request_id: str | None = None) -> JSONResponse:
    """The 500 a client sees for a bug: the request id to quote, never the traceback."""
    return JSONResponse(internal_error_body(request_id or current_request_id()), status_code=500)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = list(loc)
    if len(parts) > 1 and parts[0] in _LOCATION_KINDS:
        parts = parts[1:]
    return ".".join(str(part) for part in parts) or "body"


def _field_message(error: dict[str, Any]) -> str:
    if error.get("type") == "extra_forbidden":
        return "unknown field"
    if error.get("type") == "missing":
        return "this field is required"
    return str(error.get("msg", "invalid value"))


def validation_fields(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    """pydantic's error list as ``{"a.b": [messages]}``, the location kind dropped."""
    fields: dict[str, list[str]] = {}
    for error in errors:
        fields.setdefault(_field_name(tuple(error.get("loc", ()))), []).append(_field_message(error))
    return fields


def _request_id(request: Request) -> str | None:
    """The gateway's edge middleware keeps it in scope["state"]; behind the gateway it is the
    X-Request-ID the gateway forwarded (when it is a safe token)."""
    state = request.scope.get("state") or {}
    kept = state.get("request_id") if isinstance(state, dict) else None
    return kept or current_request_id() or safe_request_id(request.headers.get(REQUEST_ID_HEADER))


async def on_api_error(request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message, fields=exc.fields, headers=exc.headers, extra=exc.extra)


async def on_http_exception(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = STATUS_CODES.get(exc.status_code, "internal_error" if exc.status_code >= 500 else "bad_request")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = "nothing is served at this address"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed here"
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        return error_response(400, "invalid_json", "the request body is not valid JSON")
    fields = validation_fields(errors)
    return error_response(422, "validation_error", invalid_fields_message(fields), fields=fields)


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return internal_error_response(_request_id(request))


def install_error_handlers(app: FastAPI, extra: dict[type[Exception], Callable[..., Any]] | None = None) -> None:
    """The platform's handlers, then a service's own (``extra``: its backing services being
    away, say); the catch-all 500 is the last resort."""
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_exception)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    for exc_class, handler in (extra or {}).items():
        app.add_exception_handler(exc_class, handler)
    app.add_exception_handler(Exception, on_unexpected)


# --- settings ---------------------------------------------------------------------------

class AtelierSettings(BaseSettings):
    """Base of a FastAPI service's settings: ``atelier_env``, and the production guard run
    after validation. A service lists its problems in ``production_problems`` with the
    helpers of ``atelier_kit.guard`` (``secret_problem``, ``url_problem``)."""

    atelier_env: Literal["development", "test", "production"] = "development"

    def production_problems(self) -> list[str | None]:
        return []

    @model_validator(mode="after")
    def _production_guard(self) -> "AtelierSettings":
        if self.atelier_env == "production":
            # InsecureSetting is a ValueError: pydantic reports it as a ValidationError.
            refuse(self.production_problems())
        return self


# --- strict JSON bodies ------------------------------------------------------------------

def json_limits(request: Request) -> JsonLimits:
    """``app.state.json_limits`` when the service set one, else the platform's defaults."""
    return getattr(request.app.state, "json_limits", None) or JsonLimits()


def parse_json_body(raw: bytes, limits: JsonLimits) -> Any:
    """The strict loader with its refusals as ApiErrors (400 invalid_json / 413)."""
    try:
        return load_strict_json(raw, limits)
    except JsonRejected as exc:
        raise ApiError(413 if exc.code == "payload_too_large" else 400, exc.code, exc.message) from exc


async def read_json_body(request: Request, limits: JsonLimits | None = None) -> Any:
    return parse_json_body(await request.body(), limits or json_limits(request))


class StrictJsonRequest(Request):
    """``request.json()`` through the strict loader: what FastAPI calls to fill a body model."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = await read_json_body(self)
        return self._json


class StrictJsonRoute(APIRoute):
    """``APIRouter(route_class=StrictJsonRoute)``: body models are read with the strict loader,
    so a body nested 100000 deep is 400 invalid_json, NaN is refused, limits hold."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict_handler
