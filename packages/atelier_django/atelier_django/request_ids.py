"""One request id per request: the caller's X-Request-ID (the gateway sets it) when it is a
safe token, else a fresh one. It is echoed back, put on ``request.request_id`` and carried
into every log line of the request (``RequestIdLogFilter``)."""
from __future__ import annotations

import logging
import uuid

# Which ids are kept, and the context variable, are the kit's (the gateway applies the same rule).
from atelier_kit.request_ids import current_request_id, request_id_var, safe_request_id

__all__ = ["RequestIdLogFilter", "RequestIdMiddleware", "current_request_id", "request_id_var", "safe_request_id"]


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = safe_request_id(request.META.get("HTTP_X_REQUEST_ID")) or str(uuid.uuid4())
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    """Adds ``request_id`` and ``correlation_id`` (the same id) to records logged while a
    request is served; an id the caller set explicitly (an event's) wins."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = request_id_var.get()
        if current:
            if not hasattr(record, "request_id"):
                record.request_id = current
            if not hasattr(record, "correlation_id"):
                record.correlation_id = current
        return True
