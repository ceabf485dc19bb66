"""Webhook rules: event types, the retry schedule, secrets and the payload's envelope.

Every delivery has an id made when it is queued; retries of it send the same id and
created_at (receivers deduplicate by id: a crash between a receiver's 2xx and our
recording it sends the delivery again). The job in ``data`` is read at each attempt (an
ended job never changes; its image URLs are signed afresh, since an attempt may come hours
after the first).
"""
from __future__ import annotations

import json
import random
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from app.domain.lifecycle import CANCELED, FAILED, SUCCEEDED

EVENT_TYPES = {SUCCEEDED: "job.succeeded", FAILED: "job.failed", CANCELED: "job.canceled"}
PING = "ping"
SECRET_PREFIX = "whsec_"
# After attempt k fails, the next one waits RETRY_DELAYS_S[k - 1] (+-20% jitter, so the
# retries of many deliveries that failed together do not arrive together): 10 s, 1 min,
# 5 min, 30 min, 2 h, 6 h, then every 12 h up to the attempt limit (8 by default: ~21 h).
RETRY_DELAYS_S = (10, 60, 300, 1800, 7200, 21600, 43200)
JITTER = 0.2
# Status codes that end a delivery for good; 410 also disables the endpoint (the receiver
# says it is gone, as Stripe and GitHub read it).
GONE = 410
# What is kept of a receiver's answer, in the delivery log.
RESPONSE_EXCERPT_BYTES = 512


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def retry_delay_s(attempt: int, *, rng: random.Random | random.SystemRandom = random.SystemRandom()) -> float:
    """Seconds before the attempt after ``attempt`` (1-based) failed."""
    base = RETRY_DELAYS_S[min(attempt, len(RETRY_DELAYS_S)) - 1]
    return base * (1 + rng.uniform(-JITTER, JITTER))


def next_attempt_at(attempt: int, max_attempts: int, now: datetime) -> datetime | None:
    """When to try again after ``attempt`` failed; None: give up."""
    if attempt >= max_attempts:
        return None
    return now + timedelta(seconds=retry_delay_s(attempt))


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def body(delivery_id: Any, event_type: str, created_at: datetime, data: dict[str, Any]) -> bytes:
    """The bytes signed and sent: compact JSON, keys in a fixed order."""
    document = {"id": str(delivery_id), "type": event_type, "created_at": iso(created_at), "data": data}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def is_delivered(status_code: int) -> bool:
    return 200 <= status_code < 300
