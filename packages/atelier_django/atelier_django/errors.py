"""``{"error": {"code", "message", "fields"?}}`` and the flattening of DRF's nested
validation errors into ``{"a.b": [messages]}``. Pure functions: no Django import."""
from __future__ import annotations

from typing import Any


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def flatten_fields(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF nests errors like its data; flatten to ``{"a.b": ["message", ...]}``."""
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
