"""What a delivery's outcome is: the pure decisions both consumer faces (the blocking one in
``consumer.py`` and the asyncio one in ``aio/consumer.py``) share, so one set of unit tests
covers the rules whichever transport carries the message.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from atelier_contracts import ContractError, Envelope, decode

ATTEMPTS_HEADER = "x-atelier-attempts"


@dataclass(frozen=True)
class Accepted:
    envelope: Envelope
    handler: Callable[[Envelope, Any], None]


@dataclass(frozen=True)
class Refused:
    """Dead-letter at once: the body breaks its contract, or nothing handles its type."""
    reason: str
    envelope: Envelope | None = None


@dataclass(frozen=True)
class Retry:
    attempts: int
    delay_ms: int
    headers: dict


@dataclass(frozen=True)
class DeadLetter:
    attempts: int


def accept(body: bytes, handlers: Mapping[str, Callable[[Envelope, Any], None]], queue: str) -> Accepted | Refused:
    try:
        envelope = decode(body)
    except ContractError as exc:
        return Refused(f"a message that breaks its contract: {exc}")
    handler = handlers.get(envelope.routing_key)
    if handler is None:
        return Refused(f"no handler for {envelope.routing_key} on {queue}", envelope)
    return Accepted(envelope, handler)


def after_failure(headers: Mapping[str, Any] | None, *, max_attempts: int, retry_base_delay_ms: int) -> Retry | DeadLetter:
    """A transient failure: another attempt after an exponential delay, or, once
    ``max_attempts`` deliveries failed, the dead-letter queue."""
    copied = dict(headers or {})
    attempts = int(copied.get(ATTEMPTS_HEADER, 0)) + 1
    if attempts >= max_attempts:
        return DeadLetter(attempts)
    copied[ATTEMPTS_HEADER] = attempts
    return Retry(attempts, retry_base_delay_ms * 2 ** (attempts - 1), copied)


def batch_limit(batch_size: int, prefetch: int) -> int:
    """A run never waits for more than the broker may have in flight to it."""
    return max(1, min(batch_size, prefetch))
