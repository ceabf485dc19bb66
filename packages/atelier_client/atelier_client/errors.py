"""The platform's error body, ``{"error": {"code", "message", "fields"?, "retry_after"?}}``, as
exceptions: one class per thing a caller does differently, each keeping the machine-readable
``code`` (CONTRIBUTING.md, Errors) for everything finer."""
from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx


class AtelierError(Exception):
    """Anything the platform refused, or could not be reached for."""

    def __init__(self, code: str, message: str, *, status: int | None = None, request_id: str | None = None,
                 fields: dict[str, list[str]] | None = None):
        super().__init__(f"{code}: {message}" if status is None else f"{status} {code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.request_id = request_id
        self.fields = fields or {}


class Unauthorized(AtelierError):
    """401: no, a wrong, a revoked or an expired key."""


class Forbidden(AtelierError):
    """403: e.g. ``insufficient_scope``, ``email_unverified``, ``model_not_in_plan``."""


class NotFound(AtelierError):
    """404: no such job (or not yours)."""


class ValidationFailed(AtelierError):
    """400/422: ``fields`` maps each refused parameter to its messages."""


class RateLimited(AtelierError):
    """429 (``rate_limited``, ``concurrency_limit``, ``quota_exceeded``, ``too_many_streams``),
    raised once retries ran out or the wait asked for is longer than the client waits."""

    def __init__(self, code: str, message: str, *, retry_after: float | None = None, **kwargs: Any):
        super().__init__(code, message, **kwargs)
        self.retry_after = retry_after


class ConnectionFailed(AtelierError):
    """The platform could not be reached (after the retries)."""


class JobFailed(AtelierError):
    """``generate`` only: the job ended failed or canceled; ``job`` is how it ended."""

    def __init__(self, job: Any):
        error = job.error
        super().__init__(error.code if error else job.status, error.message if error else f"the job was {job.status}")
        self.job = job


class WaitTimedOut(AtelierError, TimeoutError):
    """``wait``/``generate``: the job had not ended within the timeout (it goes on running)."""


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


_BY_STATUS: dict[int, type[AtelierError]] = {400: ValidationFailed, 401: Unauthorized, 403: Forbidden,
                                             404: NotFound, 422: ValidationFailed, 429: RateLimited}


def error_from_response(response: httpx.Response) -> AtelierError:
    """The exception for a 4xx/5xx answer; a body not in the platform's shape keeps its status."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {}
    code = str(error.get("code") or f"http_{response.status_code}")
    message = str(error.get("message") or response.reason_phrase or "request failed")
    fields = error.get("fields") if isinstance(error.get("fields"), dict) else None
    kwargs: dict[str, Any] = {"status": response.status_code, "request_id": response.headers.get("X-Request-ID"),
                              "fields": fields}
    cls = _BY_STATUS.get(response.status_code, AtelierError)
    if cls is RateLimited:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is None and isinstance(error.get("retry_after"), (int, float)):
            retry_after = float(error["retry_after"])
        return RateLimited(code, message, retry_after=retry_after, **kwargs)
    return cls(code, message, **kwargs)
