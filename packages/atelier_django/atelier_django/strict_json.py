"""Strict JSON as a DRF parser. The bounded decoder itself (no recursion, any depth costs no
stack; NaN and Infinity refused) is ``atelier_kit.strict_json``, re-exported here."""
from __future__ import annotations

from atelier_kit.strict_json import (DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, DEFAULT_MAX_ITEMS, JsonLimits,
                                     JsonRejected, check_shape, load_strict_json)
from django.conf import settings
from rest_framework.parsers import BaseParser

from .exceptions import InvalidJson, PayloadTooLarge

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_DEPTH", "DEFAULT_MAX_ITEMS", "JsonLimits", "JsonRejected",
           "StrictJSONParser", "check_shape", "limits_from_settings", "load_strict_json"]


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
