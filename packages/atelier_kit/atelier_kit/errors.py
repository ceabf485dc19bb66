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


# Beyond these, the message counts the rest: the fields map lists every one.
_FIELDS_NAMED = 3


def _as_sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def invalid_fields_message(fields: dict[str, list[str]]) -> str:
    """A validation refusal as sentences that say which field is wrong and how
    (``password: This password is too short.``), for a person reading it, not only for code."""
    named = [(name, problems) for name, problems in fields.items() if problems][:_FIELDS_NAMED]
    if not named:
        return "Some of what was sent is not valid."
    parts = [_as_sentence(problems[0]) if name == "non_field_errors" else f"{name.replace('_', ' ')}: {_as_sentence(problems[0])}"
             for name, problems in named]
    more = len(fields) - len(named)
    if more > 0:
        parts.append(f"({more} more field{'s' if more > 1 else ''} to fix.)")
    return " ".join(parts)


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
