"""No framework page ever reaches a client, whatever DEBUG says.

Django's debug pages print local variables (a webhook secret and the MAC it expects, once)
and the 404 page lists every route. ``JsonErrorsMiddleware`` answers every exception a view
raises with the JSON error document, logging the detail under the request id, and replaces
the 404 of an unknown path. ``QuietExceptionReporter`` is the last line: what Django renders
for an exception raised outside a view never includes the traceback or its variables.
"""
from __future__ import annotations

import json
import logging

from atelier_kit.errors import error_body, internal_error_body
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.urls import Resolver404, get_resolver
from django.views.debug import ExceptionReporter

from .request_ids import current_request_id

logger = logging.getLogger("atelier_django.errors")


def internal_error_response(request_id: str | None = None) -> JsonResponse:
    return JsonResponse(internal_error_body(request_id or current_request_id()), status=500)


def not_found_response(request=None) -> JsonResponse:
    # Never the path list (nor the path itself: it is the caller's own input).
    return JsonResponse(error_body("not_found", "nothing is served at this address"), status=404)


def bad_request_response(request=None) -> JsonResponse:
    return JsonResponse(error_body("bad_request", "the request could not be understood"), status=400)


def permission_denied_response(request=None) -> JsonResponse:
    return JsonResponse(error_body("permission_denied", "you may not do that"), status=403)


def _resolves(path: str, urlconf: str | None) -> bool:
    try:
        get_resolver(urlconf).resolve(path)
    except Resolver404:
        return False
    return True


class JsonErrorsMiddleware:
    """Put it right after RequestIdMiddleware, so the request id is known when it logs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 404 and not _resolves(request.path_info, getattr(request, "urlconf", None)):
            # With DEBUG on, Django's own 404 for an unknown path lists every route.
            return not_found_response(request)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, Http404):
            return not_found_response(request)
        if isinstance(exception, PermissionDenied):
            return permission_denied_response(request)
        if isinstance(exception, (BadRequest, SuspiciousOperation, MultiPartParserError, UnreadablePostError)):
            logger.warning("bad request %s %s: %s", request.method, request.path, type(exception).__name__)
            return bad_request_response(request)
        logger.error("unhandled exception in %s %s", request.method, request.path, exc_info=exception)
        return internal_error_response(getattr(request, "request_id", None))


class QuietExceptionReporter(ExceptionReporter):
    """DEFAULT_EXCEPTION_REPORTER: even a DEBUG technical page shows no frames, locals or settings."""

    def _body(self) -> str:
        return json.dumps(internal_error_body())

    def get_traceback_html(self):
        return self._body()

    def get_traceback_text(self):
        return self._body()


def csrf_failure(request, reason: str = "") -> JsonResponse:
    """CSRF_FAILURE_VIEW: Django's own page explains its settings when DEBUG is on."""
    return JsonResponse(error_body("csrf_failed", "the form is missing its CSRF token or came from another site"),
                        status=403)


# handler400/403/404/500 for the services' urls.py.
def handler400(request, exception=None) -> JsonResponse:
    return bad_request_response(request)


def handler403(request, exception=None) -> JsonResponse:
    return permission_denied_response(request)


def handler404(request, exception=None) -> JsonResponse:
    return not_found_response(request)


def handler500(request) -> JsonResponse:
    return internal_error_response(getattr(request, "request_id", None))
