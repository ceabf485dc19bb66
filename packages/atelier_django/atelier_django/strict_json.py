"""Strict JSON decoding with bounds, as a pure function and as a DRF parser.

The standard decoder recurses once per nesting level: 100000 ``[`` raise RecursionError (a
500). The body is therefore scanned first, without recursion, for its depth and the number
of values; only a body within the bounds reaches ``json.loads``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework.parsers import BaseParser

from .exceptions import InvalidJson, PayloadTooLarge

DEFAULT_MAX_BYTES = 64 * 1024
DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_ITEMS = 10_000


@dataclass(frozen=True)
class JsonLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH
    max_items: int = DEFAULT_MAX_ITEMS
    reject_duplicate_keys: bool = True


class JsonRejected(ValueError):
    """``code`` is invalid_json or payload_too_large."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


_OPEN, _CLOSE = b"[{", b"]}"


def check_shape(raw: bytes, limits: JsonLimits) -> int:
    """Refuses nesting deeper than the limit; returns the number of values (containers and
    commas outside strings, an upper bound). Iterative: any depth costs no stack."""
    depth = items = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
            continue
        if byte == 0x22:
            in_string = True
        elif byte in _OPEN:
            depth += 1
            items += 1
            if depth > limits.max_depth:
                raise JsonRejected("invalid_json", f"JSON is nested deeper than {limits.max_depth} levels")
        elif byte in _CLOSE:
            depth -= 1
        elif byte == 0x2C:  # comma: one more value in a container
            items += 1
    return items


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def load_strict_json(raw: bytes, limits: JsonLimits = JsonLimits()) -> Any:
    """Decode UTF-8 JSON within ``limits``; NaN and Infinity are refused. Raises JsonRejected."""
    # Depth first: a deeply nested body is malformed whatever its size (400, not 413).
    items = check_shape(raw, limits)
    if len(raw) > limits.max_bytes:
        raise JsonRejected("payload_too_large", f"request body is larger than {limits.max_bytes} bytes")
    if items > limits.max_items:
        raise JsonRejected("invalid_json", f"JSON holds more than {limits.max_items} values")
    try:
        text = raw.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant,
                          object_pairs_hook=_unique_keys if limits.reject_duplicate_keys else None)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise JsonRejected("invalid_json", f"request body is not valid JSON: {exc}") from exc


def limits_from_settings() -> JsonLimits:
    return JsonLimits(
        max_bytes=getattr(settings, "MAX_JSON_BODY_BYTES", DEFAULT_MAX_BYTES),
        max_depth=getattr(settings, "MAX_JSON_DEPTH", DEFAULT_MAX_DEPTH),
        max_items=getattr(settings, "MAX_JSON_ITEMS", DEFAULT_MAX_ITEMS),
        reject_duplicate_keys=getattr(settings, "JSON_REJECT_DUPLICATE_KEYS", True),
    )


class StrictJSONParser(BaseParser):
    """DEFAULT_PARSER_CLASSES entry: 400 invalid_json / 413 payload_too_large."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limits = limits_from_settings()
        # One byte past the limit, so a body sent without a length is bounded too.
        raw = stream.read(limits.max_bytes + 1) if stream is not None else b""
        try:
            return load_strict_json(raw, limits)
        except JsonRejected as exc:
            if exc.code == "payload_too_large":
                raise PayloadTooLarge(exc.message) from exc
            raise InvalidJson(exc.message) from exc
