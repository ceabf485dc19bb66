"""Stripe: Checkout Sessions outward, signed webhooks inward (stripe library).

The API client is injectable (``StripeProvider(client=...)``) and its base address is
configurable (PAYMENTS_STRIPE_API_BASE), so tests run it against a local fake server.
"""
from __future__ import annotations

from typing import Any

import stripe
from django.conf import settings

from .base import (CheckoutStart, PlanChange, Provider, ProviderError, WebhookError, check_stripe_header, load_webhook_json,
                   plan_change_from_invoice)
from .events import translate

SIGNATURE_HEADER = "Stripe-Signature"


def default_client() -> stripe.StripeClient:
    base = getattr(settings, "PAYMENTS_STRIPE_API_BASE", "")
    return stripe.StripeClient(
        settings.PAYMENTS_STRIPE_API_KEY or "sk_unconfigured",
        http_client=stripe.RequestsClient(timeout=settings.PAYMENTS_HTTP_TIMEOUT_S),
        max_network_retries=2,
        **({"base_addresses": {"api": base}} if base else {}),
    )


def _provider_error(exc: stripe.StripeError) -> ProviderError:
    # Network trouble, rate limits and Stripe's own 5xx may pass; bad requests will not.
    retryable = isinstance(exc, (stripe.APIConnectionError, stripe.RateLimitError)) or (
        exc.http_status is not None and exc.http_status >= 500)
    return ProviderError(exc.user_message or str(exc) or type(exc).__name__, retryable=retryable)


class StripeProvider(Provider):
    name = "stripe"

    def __init__(self, client: Any = None, *, webhook_secret: str | None = None):
        self._client = client
        self.webhook_secret = settings.PAYMENTS_STRIPE_WEBHOOK_SECRET if webhook_secret is None else webhook_secret

    @property
    def client(self) -> Any:
        if self._client is None:
            if not settings.PAYMENTS_STRIPE_API_KEY:
                raise ProviderError("stripe is not configured (PAYMENTS_STRIPE_API_KEY)", retryable=False)
            self._client = default_client()
        return self._client

    def create_checkout(self, checkout, *, success_url: str, cancel_url: str) -> CheckoutStart:
        item = checkout.plan or checkout.credit_pack
        price_data: dict[str, Any] = {"currency": checkout.currency.lower(), "unit_amount": checkout.amount_cents,
                                      "product_data": {"name": item.name}}
        if checkout.plan:
            price_data["recurring"] = {"interval": checkout.plan.interval}
        params = {
            "mode": "subscription" if checkout.plan else "payment",
            "line_items": [{"price_data": price_data, "quantity": 1}],
            "client_reference_id": str(checkout.id),
            "metadata": {"checkout_id": str(checkout.id), "user_id": str(checkout.customer.user_id)},
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        try:
            session = self.client.v1.checkout.sessions.create(
                params=params, options={"idempotency_key": f"checkout-{checkout.id}"})
        except stripe.StripeError as exc:
            raise _provider_error(exc) from exc
        return CheckoutStart(session.id, session.url)

    def parse_webhook(self, body: bytes, headers) -> object:
        header = headers.get(SIGNATURE_HEADER)
        if not self.webhook_secret:
            raise WebhookError("signature_invalid", "stripe webhooks are not configured")
        # The stripe library handles header text itself; give it only what it can read: short
        # printable ASCII whose timestamps are real times. Anything else is signature_invalid.
        check_stripe_header(header)
        try:
            # Only the signature check of construct_event: its JSON decoding is unbounded.
            stripe.WebhookSignature.verify_header(body, header, self.webhook_secret,
                                                  tolerance=settings.PAYMENTS_WEBHOOK_TOLERANCE_S)
        except stripe.SignatureVerificationError as exc:
            # The library checks the MAC before the age, so a stale message had a valid MAC.
            code = "signature_expired" if "tolerance" in str(exc) else "signature_invalid"
            raise WebhookError(code, "stripe signature " + ("too old" if code == "signature_expired" else "invalid")) from exc
        except UnicodeDecodeError as exc:
            raise WebhookError("invalid_payload", "body is not UTF-8 JSON") from exc
        except ValueError as exc:
            raise WebhookError("signature_invalid", "stripe signature unreadable") from exc
        return translate(load_webhook_json(body))

    def cancel_at_period_end(self, subscription) -> None:
        try:
            self.client.v1.subscriptions.update(
                subscription.provider_subscription_id, params={"cancel_at_period_end": True},
                options={"idempotency_key": f"cancel-{subscription.id}"})
        except stripe.StripeError as exc:
            raise _provider_error(exc) from exc

    def resume(self, subscription) -> None:
        # One key per cancellation undone: a later cancel and resume must reach Stripe again.
        undone = int(subscription.canceled_at.timestamp()) if subscription.canceled_at else 0
        try:
            self.client.v1.subscriptions.update(
                subscription.provider_subscription_id, params={"cancel_at_period_end": False},
                options={"idempotency_key": f"resume-{subscription.id}-{undone}"})
        except stripe.StripeError as exc:
            raise _provider_error(exc) from exc

    def change_plan(self, subscription, plan, *, proration_date) -> PlanChange:
        """Swap the subscription's one item to the new price, prorated at ``proration_date`` (the
        instant billing showed the customer) and invoiced at once; a card that fails refuses the
        change instead of leaving an unpaid invoice behind."""
        stamp = int(proration_date.timestamp())
        try:
            current = self.client.v1.subscriptions.retrieve(subscription.provider_subscription_id)
            item = current["items"]["data"][0]
            product = item["price"]["product"]
            updated = self.client.v1.subscriptions.update(subscription.provider_subscription_id, params={
                "items": [{"id": item["id"], "price_data": {
                    "currency": plan.currency.lower(), "unit_amount": plan.price_cents,
                    "product": product if isinstance(product, str) else product["id"],
                    "recurring": {"interval": plan.interval}}}],
                "proration_behavior": "always_invoice", "proration_date": stamp,
                "payment_behavior": "error_if_incomplete", "metadata": {"plan": plan.code},
                "expand": ["latest_invoice"],
            }, options={"idempotency_key": f"change-{subscription.id}-{plan.code}-{stamp}"})
        except stripe.StripeError as exc:
            raise _provider_error(exc) from exc
        except (KeyError, IndexError, TypeError) as exc:
            raise ProviderError("stripe's subscription has no item to change", retryable=False) from exc
        return plan_change_from_invoice(updated["latest_invoice"])

    def refund(self, payment, amount_cents: int, *, idempotency_key: str) -> str:
        # Stripe refunds a PaymentIntent; invoices are refunded through theirs.
        params: dict[str, Any] = {"amount": amount_cents, "metadata": {"payment_id": str(payment.id)}}
        ref = payment.provider_payment_id
        if ref.startswith("in_"):
            try:
                invoice = self.client.v1.invoices.retrieve(ref)
            except stripe.StripeError as exc:
                raise _provider_error(exc) from exc
            ref = getattr(invoice, "payment_intent", None) or ref
        params["payment_intent"] = ref
        try:
            refund = self.client.v1.refunds.create(params=params, options={"idempotency_key": idempotency_key})
        except stripe.StripeError as exc:
            raise _provider_error(exc) from exc
        return refund.id
