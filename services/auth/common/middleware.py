"""Carries the caller's X-Request-ID (set by the gateway) through logs and events."""
from __future__ import annotations

import contextvars
import re
import uuid

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# Anything else is replaced: the id ends up in logs and in event envelopes.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def incoming_request_id(meta: dict) -> str | None:
    value = meta.get("HTTP_X_REQUEST_ID")
    if value and _VALID_REQUEST_ID.match(value):
        return value
    return None


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = incoming_request_id(request.META)
        token = request_id_var.set(request.request_id or str(uuid.uuid4()))
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        if request.request_id:
            response["X-Request-ID"] = request.request_id
        return response
