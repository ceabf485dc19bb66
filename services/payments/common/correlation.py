"""The caller's X-Request-ID (set by the gateway) carried into every log line of the
request, so one id follows a request across services. Event handlers log the envelope's
correlation_id explicitly instead."""
from __future__ import annotations

import contextvars
import logging
import re
import uuid

correlation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)

# Anything else is replaced: the id is written into logs verbatim.
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class CorrelationIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _VALID_ID.match(incoming) else str(uuid.uuid4())
        token = correlation_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            correlation_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class CorrelationIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "correlation_id"):
            current = correlation_id_var.get()
            if current:
                record.correlation_id = current
        return True
