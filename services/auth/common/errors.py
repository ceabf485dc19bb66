"""Every error leaves the service as ``{"error": {"code", "message", "fields"?}}``."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from atelier_django import error_body, flatten_fields


class ApiError(exceptions.APIException):
    """Base for the service's own errors; ``default_code`` is the wire code."""


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


# DRF's built-in exceptions carry generic codes; these are the ones CONTRIBUTING.md lists.
_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ParseError: "invalid_json",
    exceptions.ValidationError: "validation_error",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.Throttled: "rate_limited",
}
_PASS_THROUGH_AUTH_CODES = {"token_expired", "token_invalid", "invalid_credentials", "account_disabled"}


def _message(exc: exceptions.APIException) -> str:
    detail = exc.detail
    if isinstance(detail, (list, dict)):
        return "the request is invalid"
    return str(detail)


def describe(exc: exceptions.APIException) -> tuple[str, str, dict[str, list[str]] | None]:
    if isinstance(exc, exceptions.ValidationError):
        return "validation_error", "the request is invalid", flatten_fields(exc.detail)
    if isinstance(exc, ApiError):
        code = exc.detail.code if hasattr(exc.detail, "code") and exc.detail.code else exc.default_code
        return str(code), _message(exc), None
    if isinstance(exc, exceptions.AuthenticationFailed):
        code = getattr(exc.detail, "code", None)
        return (code if code in _PASS_THROUGH_AUTH_CODES else "token_invalid"), _message(exc), None
    for klass, code in _CODES.items():
        if isinstance(exc, klass):
            return code, _message(exc), None
    return str(getattr(exc.detail, "code", None) or exc.default_code), _message(exc), None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: Django's handler500 answers (JSON, see config.views)
    code, message, fields = describe(exc)
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    return Response(error_body(code, message, fields), status=exc.status_code, headers=headers)
