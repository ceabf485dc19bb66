"""One error shape for every route: ``{"error": {"code", "message", "fields"?}}``.

DRF exceptions go through ``exception_handler``; anything Django answers itself
(unknown paths, server errors) goes through the ``handler*`` views wired in config/urls.py.
"""
from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from atelier_django import error_body, flatten_fields

logger = logging.getLogger(__name__)

# Codes a token can be refused with; anything else the authenticator says is token_invalid.
TOKEN_CODES = frozenset({"token_expired", "token_invalid"})


class ApiError(exceptions.APIException):
    """A refusal with its own machine-readable code, e.g. ``customer_not_found``."""

    def __init__(self, code: str, message: str, *, status_code: int = status.HTTP_400_BAD_REQUEST,
                 fields: dict[str, list[str]] | None = None):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.message = message
        self.fields = fields


_BY_TYPE: tuple[tuple[type[exceptions.APIException], str], ...] = (
    (exceptions.ParseError, "invalid_json"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "rate_limited"),
)


def _code_and_message(exc: exceptions.APIException) -> tuple[str, str]:
    if isinstance(exc, ApiError):
        return exc.error_code, exc.message
    if isinstance(exc, exceptions.AuthenticationFailed):
        code = exc.get_codes()
        return (code if code in TOKEN_CODES else "token_invalid"), str(exc.detail)
    if isinstance(exc, exceptions.ParseError):
        return "invalid_json", f"request body is not valid JSON: {exc.detail}"
    for exc_type, code in _BY_TYPE:
        if isinstance(exc, exc_type):
            return code, str(exc.detail)
    return str(exc.default_code), str(exc.detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER. Returns None for non-API exceptions so they reach handler500."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None

    if isinstance(exc, exceptions.ValidationError):
        body = error_body("validation_error", "the request is invalid", flatten_fields(exc.detail))
    else:
        code, message = _code_and_message(exc)
        body = error_body(code, message, getattr(exc, "fields", None))

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(int(exc.wait))
    return Response(body, status=exc.status_code, headers=headers)


def handler400(request, exception=None) -> JsonResponse:
    return JsonResponse(error_body("bad_request", "the request could not be understood"), status=400)


def handler403(request, exception=None) -> JsonResponse:
    return JsonResponse(error_body("permission_denied", "you may not do that"), status=403)


def handler404(request, exception=None) -> JsonResponse:
    return JsonResponse(error_body("not_found", f"no route for {request.path}"), status=404)


def handler500(request) -> JsonResponse:
    return JsonResponse(error_body("internal_error", "something went wrong on our side"), status=500)
