"""The one interface every payment provider adapter implements.

Adapters translate: outward (start a hosted checkout, cancel, refund) and inward (verify
a webhook and turn it into a ``ProviderEvent``). Business rules live in billing, once.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from atelier_django.strict_json import JsonLimits, JsonRejected, load_strict_json
from atelier_django.timestamps import parse_unix_timestamp
from atelier_kit import webhook_signatures
# The scheme is the platform's; kept under these names for payments' callers.
from atelier_kit.webhook_signatures import MAX_SIGNATURE_HEADER_BYTES, header_bytes, sign  # noqa: F401

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
    # Account credit (from a downgrade) the invoice spent besides what was charged.
    balance_applied_cents: int = 0
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class PlanChange:
    """What the provider billed for a plan change, as its invoice says: ``amount_paid_cents``
    charged now, ``balance_applied_cents`` of earlier account credit spent on it, and
    ``balance_credited_cents`` put on the account (a downgrade) for the next invoices."""

    invoice_id: str
    amount_paid_cents: int
    balance_applied_cents: int = 0
    balance_credited_cents: int = 0


def plan_change_from_invoice(invoice: Any) -> PlanChange:
    """A Stripe-shaped invoice (the sandbox writes the same) -> PlanChange. A customer's credit is
    a negative balance: credit spent moves it up, credit added moves it down."""
    def field(name: str) -> int:
        value = invoice.get(name) if isinstance(invoice, dict) else getattr(invoice, name, None)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    moved = field("ending_balance") - field("starting_balance")
    invoice_id = invoice.get("id") if isinstance(invoice, dict) else getattr(invoice, "id", None)
    if not isinstance(invoice_id, str) or not invoice_id:
        raise ProviderError("the provider's invoice for the change has no id", retryable=False)
    return PlanChange(invoice_id=invoice_id, amount_paid_cents=max(0, field("amount_paid")),
                      balance_applied_cents=max(0, moved), balance_credited_cents=max(0, -moved))


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

    def resume(self, subscription: Any) -> None:
        """Undo cancel_at_period_end: renew again. Providers that renew on their own must override."""

    def change_plan(self, subscription: Any, plan: Any, *, proration_date: datetime) -> PlanChange:
        """Move the subscription to ``plan`` now, prorated at ``proration_date`` and invoiced at
        once (Stripe's proration_behavior=always_invoice). Raises ProviderError."""
        raise ProviderError(f"{self.name} cannot change plans", retryable=False)

    def request_renewal(self, subscription: Any) -> bool:
        """Charge the next period where this service drives renewals (the sandbox).
        Returns False where the provider renews by itself and reports by webhook."""
        return False

    @abc.abstractmethod
    def refund(self, payment: Any, amount_cents: int, *, idempotency_key: str) -> str:
        """Return the provider's refund id. Raises ProviderError."""


def verify_signature(secret: str, body: bytes, header: str | bytes | None, *, tolerance_s: int,
                     now: float | None = None) -> None:
    """The platform's scheme (atelier_kit.webhook_signatures): the MAC first, then freshness.
    Anything unreadable in the header is ``signature_invalid``, never an exception of another
    kind (an unhandled one once rendered this frame's variables, secret and expected MAC
    included, on a debug page)."""
    if not secret:
        raise WebhookError("signature_invalid", "webhooks are not configured for this provider")
    try:
        webhook_signatures.verify(secret, body, header, tolerance_s=tolerance_s, now=now)
    except webhook_signatures.SignatureError as exc:
        raise WebhookError(exc.code, exc.message) from None


def check_stripe_header(header: str | bytes | None) -> None:
    """What the stripe library may be given: printable ASCII of a sane length whose every
    ``t=`` is a real unix time. It would otherwise fail in ways it does not report as a
    SignatureVerificationError (non-ASCII text, timestamps past year 9999)."""
    raw = header_bytes(header)
    if not raw or len(raw) > MAX_SIGNATURE_HEADER_BYTES or not all(0x20 <= byte < 0x7F for byte in raw):
        raise WebhookError("signature_invalid", "missing or unreadable signature header")
    for part in raw.split(b","):
        key, _, value = part.strip().partition(b"=")
        if key == b"t":
            try:
                parse_unix_timestamp(value)
            except ValueError:
                raise WebhookError("signature_invalid", "malformed signature timestamp") from None


# A provider's event is a modest JSON object; the bounds keep a signed but absurd body from
# reaching the recursive decoder.
WEBHOOK_JSON_LIMITS = JsonLimits(max_bytes=256 * 1024, max_depth=32, max_items=20_000, reject_duplicate_keys=False)


def load_webhook_json(body: bytes) -> Any:
    try:
        return load_strict_json(body, WEBHOOK_JSON_LIMITS)
    except JsonRejected as exc:
        raise WebhookError("invalid_payload", "body is not JSON within bounds") from exc
