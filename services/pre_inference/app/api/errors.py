"""One error shape for every answer: {"error": {"code", "message", "fields"?}}.

The shape, FastAPI's own refusals (validation 422, HTTPException, unknown routes, 405) and
the JSON 500 are the platform's (``atelier_kit.fastapi``). What is this service's own: the
``retry_after`` its limits report, and 503s for its job store and Redis being away.
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

from atelier_kit import fastapi as kit
from atelier_kit.fastapi import validation_fields
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException
from sqlalchemy.exc import InterfaceError, OperationalError, TimeoutError as PoolTimeoutError

from app.api.metrics import count_refused_submission

log = logging.getLogger("pre_inference.errors")

__all__ = ["ApiError", "error_response", "install_error_handlers", "validation_fields"]


class ApiError(kit.ApiError):
    """The platform's ApiError; ``retry_after`` (seconds) also goes into the body for the SPA."""

    def __init__(
        self, status: int, code: str, message: str, *, fields: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None, retry_after: int | None = None,
    ):
        super().__init__(status, code, message, fields=fields, headers=headers,
                         extra={"retry_after": retry_after} if retry_after is not None else None)
        self.retry_after = retry_after


def error_response(
    status: int, code: str, message: str, *, fields: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None, retry_after: int | None = None,
) -> JSONResponse:
    extra: dict[str, Any] | None = {"retry_after": retry_after} if retry_after is not None else None
    return kit.error_response(status, code, message, fields=fields, headers=headers, extra=extra)


async def _on_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.error("database unavailable: %r", exc)
    return error_response(503, "service_unavailable", "the job store is unavailable; try again shortly", headers={"Retry-After": "5"})


async def _on_events_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # Redis (job change notices, rate limits) away or too slow: a bounded call gave up.
    log.error("redis unavailable on %s: %r", request.url.path, exc)
    return error_response(503, "service_unavailable", "live updates are unavailable; try again shortly", headers={"Retry-After": "5"})


def _counting_submissions(handler: Callable[[Request, Any], Awaitable[JSONResponse]]) -> Callable[[Request, Any], Awaitable[JSONResponse]]:
    # A submission refused before its endpoint ran (token, scope, JSON, schema) is an
    # admission outcome too; the endpoint counts the ones it sees.
    async def handle(request: Request, exc: Any) -> JSONResponse:
        count_refused_submission(request, exc)
        return await handler(request, exc)
    return handle


def install_error_handlers(app: FastAPI) -> None:
    kit.install_error_handlers(app, extra={
        kit.ApiError: _counting_submissions(kit.on_api_error),
        StarletteHTTPException: _counting_submissions(kit.on_http_exception),
        RequestValidationError: _counting_submissions(kit.on_validation_error),
        OperationalError: _on_database_unavailable,
        InterfaceError: _on_database_unavailable,
        PoolTimeoutError: _on_database_unavailable,
        RedisError: _on_events_unavailable,
        TimeoutError: _on_events_unavailable,
    })
