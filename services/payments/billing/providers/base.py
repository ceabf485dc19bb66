"""The one interface every payment provider adapter implements.

Adapters translate: outward (start a hosted checkout, cancel, refund) and inward (verify
a webhook and turn it into a ``ProviderEvent``). Business rules live in billing, once.
"""
from __future__ import annotations

import abc
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Event types billing understands; adapters map their provider's names onto these.
CHECKOUT_COMPLETED = "checkout.completed"
INVOICE_PAID = "invoice.paid"
INVOICE_FAILED = "invoice.payment_failed"
SUBSCRIPTION_ENDED = "subscription.ended"
IGNORED = "ignored"


class WebhookError(Exception):
    """A delivery we refuse: ``code`` is signature_invalid, signature_expired or invalid_payload."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class ProviderError(Exception):
    """The provider refused or could not be reached. ``retryable`` tells the caller
    whether trying again later can help."""

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class ProviderEvent:
    id: str
    type: str
    created: datetime
    checkout_session_id: str | None = None
    client_reference_id: str | None = None
    subscription_id: str | None = None
    payment_id: str | None = None
    amount_cents: int | None = None
    currency: str | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class CheckoutStart:
    provider_session_id: str
    url: str


class Provider(abc.ABC):
    name: str

    @abc.abstractmethod
    def create_checkout(self, checkout: Any, *, success_url: str, cancel_url: str) -> CheckoutStart:
        """Open a hosted checkout for a billing.CheckoutSession (not yet committed)."""

    @abc.abstractmethod
    def parse_webhook(self, body: bytes, headers: dict[str, str]) -> ProviderEvent:
        """Verify signature and freshness, then translate. Raises WebhookError."""

    def cancel_at_period_end(self, subscription: Any) -> None:
        """Tell the provider not to renew. Providers that renew on their own must override."""

    def request_renewal(self, subscription: Any) -> bool:
        """Charge the next period where this service drives renewals (the sandbox).
        Returns False where the provider renews by itself and reports by webhook."""
        return False

    @abc.abstractmethod
    def refund(self, payment: Any, amount_cents: int, *, idempotency_key: str) -> str:
        """Return the provider's refund id. Raises ProviderError."""


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``, the scheme Stripe uses."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, body: bytes, header: str | None, *, tolerance_s: int, now: float | None = None) -> None:
    """Checks the MAC first (so a forger learns nothing about timing), then freshness."""
    if not secret:
        raise WebhookError("signature_invalid", "webhooks are not configured for this provider")
    if not header or len(header) > 2000:
        raise WebhookError("signature_invalid", "missing signature header")
    timestamp, candidates = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise WebhookError("signature_invalid", "malformed signature header")
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise WebhookError("signature_invalid", "signature does not match")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_s:
        raise WebhookError("signature_expired", "signature timestamp is outside the tolerance")
