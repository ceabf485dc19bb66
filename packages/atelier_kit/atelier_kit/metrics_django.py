"""The Django face of ``atelier_kit.metrics``: the middleware labelling each request with
the URL pattern Django resolved (``/api/auth/keys/<uuid:key_id>``), and the /metrics view,
answered only to scrapers on loopback or the private network."""
from __future__ import annotations

import re
import time

from django.conf import settings
from django.http import HttpResponse, JsonResponse

from atelier_kit.errors import error_body
from atelier_kit.metrics import exposition, is_internal_address, observe_request


# Regex patterns (re_path) join into routes like "api/payments/^checkout/?$": their anchors
# and optional slashes say nothing to a reader of a dashboard.
_REGEX_ANCHORS = re.compile(r"\^|\$|\\A|\\Z")
_OPTIONAL_SLASH = re.compile(r"/\?(?=/|$)")


def route_template(request) -> str | None:  # noqa: ANN001
    """The resolved URL pattern (``api/auth/keys/<uuid:key_id>``), None when none matched."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return None
    return _OPTIONAL_SLASH.sub("", _REGEX_ANCHORS.sub("", match.route)) or "/"


class HttpMetricsMiddleware:
    """First in MIDDLEWARE, so the time and status are those the client gets (after the
    JSON error middleware has shaped any error). ``ATELIER_SERVICE_NAME`` names the service."""

    def __init__(self, get_response):  # noqa: ANN001
        self.get_response = get_response
        self.service = settings.ATELIER_SERVICE_NAME

    def __call__(self, request):  # noqa: ANN001
        started = time.perf_counter()
        response = self.get_response(request)
        observe_request(self.service, route_template(request), request.method, response.status_code,
                        time.perf_counter() - started)
        return response


def metrics_view(request):  # noqa: ANN001
    # The service port is loopback-only, but the gateway is on loopback too: a request it
    # forwarded carries X-Forwarded-For and is refused like an outside one (the gateway
    # routes no /metrics anyway; this holds if that ever changes).
    internal = is_internal_address(request.META.get("REMOTE_ADDR")) and "HTTP_X_FORWARDED_FOR" not in request.META
    if not internal or request.method not in ("GET", "HEAD"):
        return JsonResponse(error_body("not_found", "no such page"), status=404)
    body, content_type = exposition()
    return HttpResponse(body, content_type=content_type)
