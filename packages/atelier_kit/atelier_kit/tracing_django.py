"""The Django face of ``atelier_kit.tracing``: a SERVER span per request that continues the
gateway's ``traceparent``, named by the URL pattern Django resolved. First in MIDDLEWARE, so
everything the request does (its queries, the outbox rows it writes, its log lines) is inside.
With tracing off it costs one global read per request."""
from __future__ import annotations

from django.conf import settings

from . import tracing


class TracingMiddleware:
    def __init__(self, get_response):  # noqa: ANN001
        self.get_response = get_response
        # Built once per process, before the first request: the API process turns tracing on here
        # (its consumer and relay processes do in their own entry points).
        tracing.setup_tracing(getattr(settings, "ATELIER_SERVICE_NAME", "django"), "api")

    def __call__(self, request):  # noqa: ANN001
        if not tracing.enabled():
            return self.get_response(request)
        attributes = {"http.request.method": request.method, "url.path": request.path}
        with tracing.start_span(f"{request.method} {request.path}", kind="server",
                                traceparent=request.META.get("HTTP_TRACEPARENT"),
                                tracestate=request.META.get("HTTP_TRACESTATE"), attributes=attributes) as span:
            response = self.get_response(request)
            match = getattr(request, "resolver_match", None)
            if match is not None and match.route:
                span.update_name(f"{request.method} /{match.route}")
                span.set_attribute("http.route", match.route)
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                tracing.set_error(span, f"HTTP {response.status_code}")
            return response
