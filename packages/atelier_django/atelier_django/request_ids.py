"""One request id per request: the caller's X-Request-ID (the gateway sets it) when it is a
safe token, else a fresh one. It is echoed back, put on ``request.request_id`` and carried
into every log line of the request (``RequestIdLogFilter``)."""
from __future__ import annotations

import contextvars
import logging
import re
import uuid

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("atelier_request_id", default=None)

# The id is written into logs, headers and event envelopes verbatim: nothing else gets through.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def safe_request_id(value: str | bytes | None) -> str | None:
    """The incoming id if it is a safe token. Any bytes are fine here (WSGI hands headers over
    as latin-1 text); what is not a safe token is simply not used."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if value and _SAFE_ID.fullmatch(value):
        return value
    return None


def current_request_id() -> str | None:
    return request_id_var.get()


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
