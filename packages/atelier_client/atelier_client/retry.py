"""When to try a request again, and after how long: the one rule both clients follow.

429 and 503 are the platform asking to be called later: the Retry-After it sends is honoured
when it is no longer than ``max_retry_after`` (a quota that resets at midnight is not waited
out: the error is raised at once). Connection errors, timeouts, 502 and 504 mean the request
may not have arrived: exponential backoff with full jitter, so many clients do not return in
step. A POST is retried only when it carries an Idempotency-Key, which makes a repeat return
the first job instead of making a second one."""
from __future__ import annotations

import random
from dataclasses import dataclass

from .errors import parse_retry_after

ASKED_LATER = frozenset({429, 503})
MAYBE_LOST = frozenset({502, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff_base_s: float = 0.5
    backoff_max_s: float = 8.0
    max_retry_after_s: float = 60.0

    def may_repeat(self, method: str, headers: dict[str, str] | None) -> bool:
        if method.upper() in IDEMPOTENT_METHODS:
            return True
        return any(name.lower() == "idempotency-key" for name in (headers or {}))

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^attempt)]."""
        return random.uniform(0, min(self.backoff_max_s, self.backoff_base_s * 2 ** attempt))

    def delay_after_status(self, attempt: int, status: int, retry_after: str | None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None: raise the answer's error."""
        if attempt >= self.max_retries:
            return None
        if status in ASKED_LATER:
            asked = parse_retry_after(retry_after)
            if asked is None:
                return self.backoff(attempt)
            return asked if asked <= self.max_retry_after_s else None
        if status in MAYBE_LOST:
            return self.backoff(attempt)
        return None

    def delay_after_error(self, attempt: int) -> float | None:
        return self.backoff(attempt) if attempt < self.max_retries else None
