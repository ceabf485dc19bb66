"""DRF's EXCEPTION_HANDLER and the error classes the services raise: every refusal leaves
as ``{"error": {"code", "message", "fields"?}}`` with a machine-readable code."""
from __future__ import annotations

from typing import Any

from atelier_kit.errors import invalid_fields_message
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from .errors import error_body, flatten_fields


class ApiError(exceptions.APIException):
    """A refusal with its own code. Subclass with ``default_code``/``status_code``, or raise
    directly: ``ApiError("no account yet", code="customer_not_found", status_code=404)``.
    Given ``fields`` and no message, the message names each field and what is wrong with it."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = "the request cannot be served"

    def __init__(self, detail: str | None = None, code: str | None = None, *, status_code: int | None = None,
                 fields: dict[str, list[str]] | None = None):
        if detail is None and fields:
            detail = invalid_fields_message(fields)
        super().__init__(detail=detail, code=code)
        if status_code is not None:
            self.status_code = status_code
        self.fields = fields


class Conflict(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "the request conflicts with the current state"


class PayloadTooLarge(ApiError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "request body is too large"


class UnsupportedMediaType(ApiError):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_code = "unsupported_media_type"
    default_detail = "send the request body as application/json"


class InvalidJson(ApiError, exceptions.ParseError):
    default_code = "invalid_json"
    default_detail = "request body is not valid JSON"


class InsufficientScope(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "insufficient_scope"
    default_detail = "this credential may not do that"


# DRF's built-in exceptions carry generic codes; these are the ones CONTRIBUTING.md lists.
_CODES: tuple[tuple[type[exceptions.APIException], str], ...] = (
    (exceptions.ParseError, "invalid_json"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "rate_limited"),
)
# Codes an authenticator may refuse with as they are; anything else it says is token_invalid.
AUTH_CODES = frozenset({"token_expired", "token_invalid", "invalid_credentials", "account_disabled"})


def _message(exc: exceptions.APIException) -> str:
    if isinstance(exc.detail, (list, dict)):
        return invalid_fields_message(flatten_fields(exc.detail))
    return str(exc.detail)


def describe(exc: exceptions.APIException) -> tuple[str, str, dict[str, list[str]] | None]:
    """(code, message, fields) of a DRF exception."""
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_fields(exc.detail)
        return "validation_error", invalid_fields_message(fields), fields
    if isinstance(exc, ApiError):
        code = getattr(exc.detail, "code", None) or exc.default_code
        return str(code), _message(exc), exc.fields
    if isinstance(exc, exceptions.AuthenticationFailed):
        code = getattr(exc.detail, "code", None)
        return (code if code in AUTH_CODES else "token_invalid"), _message(exc), None
    if isinstance(exc, exceptions.ParseError):
        return "invalid_json", _message(exc), None
    for klass, code in _CODES:
        if isinstance(exc, klass):
            return code, _message(exc), None
    return str(getattr(exc.detail, "code", None) or exc.default_code), _message(exc), None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER. Returns None for anything that is not a refusal (a bug);
    ``JsonErrorsMiddleware`` then answers the JSON 500."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None
    code, message, fields = describe(exc)
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(max(1, int(exc.wait)))
    return Response(error_body(code, message, fields), status=exc.status_code, headers=headers)
