"""What the gateway answers when an upstream fails with a 5xx, or refuses an API request with
something other than the platform's JSON error (an HTML 4xx page: Django with DEBUG turned on
by hand, a framework default).

A service's own platform error (`{"error": {"code", "message"}}`) passes through. Anything else
(a Django debug page, a bare "Internal Server Error", a truncated body) is never shown to the
caller: it is logged and replaced by `upstream_error` with the same status and the request id.
Either way the upstream connection is closed, never pooled (upstream._Response does that: a
server that just failed may close it or leave bytes on it, and the next caller would inherit it).
"""
from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
from fastapi.responses import Response

from .errors import error_response

logger = logging.getLogger("gateway.proxy")

# Enough for any platform error document; a longer body is not one.
MAX_ERROR_BODY_BYTES = 64 * 1024
_PASSED_HEADERS = ("retry-after",)


def is_platform_error(body: bytes, content_type: str) -> bool:
    if "json" not in content_type.lower():
        return False
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return False
    error = document.get("error") if isinstance(document, dict) else None
    return isinstance(error, dict) and isinstance(error.get("code"), str) and isinstance(error.get("message"), str)


async def _read_bounded(upstream: aiohttp.ClientResponse) -> bytes | None:
    """The body if it is short and arrives whole; None otherwise."""
    try:
        body = await upstream.content.read(MAX_ERROR_BODY_BYTES + 1)
    except (asyncio.TimeoutError, aiohttp.ClientError):
        return None
    return body if len(body) <= MAX_ERROR_BODY_BYTES else None


# A refusal whose body had to be replaced keeps its status and gets the usual code for it.
_CODES_4XX = {400: "bad_request", 401: "not_authenticated", 403: "permission_denied", 404: "not_found",
              405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
              422: "validation_error", 429: "rate_limited"}


def needs_review(status: int, content_type: str, path: str) -> bool:
    """5xx always; a 4xx of the JSON API when it is not JSON (its body is not ours to show)."""
    if status >= 500:
        return True
    return 400 <= status < 500 and path.startswith("/api/") and "json" not in content_type.lower()


# What each service does, in the words of someone using Atelier (its name is for the logs).
_PLAIN_NAMES = {"auth": "accounts", "payments": "billing", "pre_inference": "image generation"}


def plain_service_name(service: str) -> str:
    return f"Atelier's {_PLAIN_NAMES.get(service, service)} service"


async def answer_upstream_failure(upstream: aiohttp.ClientResponse, service: str, request_id: str) -> Response:
    try:
        content_type = upstream.headers.get("content-type", "")
        body = await _read_bounded(upstream)
    finally:
        upstream.close()
    status = upstream.status
    if body is not None and is_platform_error(body, content_type):
        headers = {name: upstream.headers[name] for name in _PASSED_HEADERS if name in upstream.headers}
        return Response(body, status_code=status, media_type="application/json", headers=headers)
    logger.warning(json.dumps({
        "event": "upstream_error_replaced", "request_id": request_id, "service": service, "status": status,
        "content_type": content_type[:100], "body_start": (body or b"")[:300].decode("utf-8", "replace"),
    }))
    if status < 500:
        headers = {name: upstream.headers[name] for name in _PASSED_HEADERS if name in upstream.headers}
        return error_response(status, _CODES_4XX.get(status, "bad_request"), f"{plain_service_name(service)} refused the request",
                              extra={"request_id": request_id}, headers=headers)
    return error_response(status, "upstream_error", f"{plain_service_name(service)} failed; try again shortly",
                          extra={"request_id": request_id})
