"""``{"error": {"code", "message", "fields"?}}``, the platform's one error body, and the
flattening of nested validation errors into ``{"a.b": [messages]}``."""
from __future__ import annotations

from typing import Any


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``extra`` adds keys of a service's own (``request_id``, ``retry_after``); it can never
    replace the code or the message."""
    error: dict[str, Any] = {**(extra or {}), "code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


INTERNAL_ERROR_MESSAGE = "something went wrong on our side"


def internal_error_body(request_id: str | None = None) -> dict[str, Any]:
    """The body of a 500: the request id to quote when reporting it, never the exception."""
    if not request_id:
        return error_body("internal_error", INTERNAL_ERROR_MESSAGE)
    return error_body("internal_error", f"{INTERNAL_ERROR_MESSAGE}; quote request id {request_id} when reporting it",
                      extra={"request_id": request_id})


def flatten_fields(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Validation errors nest like the data; flatten to ``{"a.b": ["message", ...]}``."""
    if isinstance(detail, dict):
        fields: dict[str, list[str]] = {}
        for key, value in detail.items():
            fields.update(flatten_fields(value, f"{prefix}.{key}" if prefix else str(key)))
        return fields
    if isinstance(detail, (list, tuple)):
        if all(not isinstance(item, (dict, list, tuple)) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]}
        fields = {}
        for index, item in enumerate(detail):
            fields.update(flatten_fields(item, f"{prefix}.{index}" if prefix else str(index)))
        return fields
    return {prefix or "non_field_errors": [str(detail)]}
