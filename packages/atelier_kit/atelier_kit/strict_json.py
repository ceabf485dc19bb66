"""Strict JSON decoding with bounds, as a plain function every face wraps.

The standard decoder recurses once per nesting level: 100000 ``[`` raise RecursionError (a
500). The body is therefore scanned first, without recursion, for its depth and the number
of values; only a body within the bounds reaches ``json.loads``. NaN and Infinity, which
``json.loads`` accepts by default, are refused: no other JSON parser reads them back.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

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


# A whole string literal (escapes included) or one structural character. Matching strings in
# C keeps a body of long base64 strings (pre_inference's uploads) cheap to scan.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]')
_OPEN = frozenset(b"[{")


def check_shape(raw: bytes, limits: JsonLimits) -> int:
    """Refuses nesting deeper than the limit; returns the number of values (containers and
    commas outside strings, an upper bound). Iterative: any depth costs no stack."""
    depth = items = 0
    for token in _TOKENS.finditer(raw):
        first = raw[token.start()]
        if first == 0x22:  # a string literal: nothing inside it counts
            continue
        if first in _OPEN:
            depth += 1
            items += 1
            if depth > limits.max_depth:
                raise JsonRejected("invalid_json", f"JSON is nested deeper than {limits.max_depth} levels")
        elif first == 0x2C:  # comma: one more value in a container
            items += 1
        else:
            depth -= 1
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
