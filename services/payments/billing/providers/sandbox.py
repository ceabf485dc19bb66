"""The built-in provider: a hosted checkout page served by this service (sandbox app)
and Stripe-shaped events signed with PAYMENTS_SANDBOX_WEBHOOK_SECRET."""
from __future__ import annotations

import uuid

from django.conf import settings

from .base import (CheckoutStart, PlanChange, Provider, ProviderError, load_webhook_json, plan_change_from_invoice,
                   verify_signature)
from .events import translate

SIGNATURE_HEADER = "Atelier-Signature"


class SandboxProvider(Provider):
    name = "sandbox"

    def create_checkout(self, checkout, *, success_url: str, cancel_url: str) -> CheckoutStart:
        from sandbox.services import open_session

        item = checkout.plan or checkout.credit_pack
        session = open_session(
            mode="subscription" if checkout.plan else "payment", client_reference_id=str(checkout.id),
            description=item.name, amount_cents=checkout.amount_cents, currency=checkout.currency,
            interval=checkout.plan.interval if checkout.plan else "")
        return CheckoutStart(session.id, f"{settings.PUBLIC_URL}/api/payments/sandbox/checkout/{session.id}")

    def parse_webhook(self, body: bytes, headers: dict[str, str]) -> object:
        verify_signature(settings.PAYMENTS_SANDBOX_WEBHOOK_SECRET, body, headers.get(SIGNATURE_HEADER),
                         tolerance_s=settings.PAYMENTS_WEBHOOK_TOLERANCE_S)
        return translate(load_webhook_json(body))

    def request_renewal(self, subscription) -> bool:
        from sandbox.services import charge_renewal

        charge_renewal(subscription.provider_subscription_id, after=subscription.current_period_end)
        return True

    def change_plan(self, subscription, plan, *, proration_date) -> PlanChange:
        from sandbox.services import CardDeclined, SessionClosed, change_plan

        try:
            invoice = change_plan(subscription.provider_subscription_id, amount_cents=plan.price_cents,
                                  description=plan.name, period_start=subscription.current_period_start,
                                  period_end=subscription.current_period_end, at=proration_date)
        except CardDeclined as exc:
            raise ProviderError(str(exc), retryable=False) from exc
        except SessionClosed as exc:
            raise ProviderError("the sandbox has no such subscription", retryable=False) from exc
        return plan_change_from_invoice(invoice)

    def refund(self, payment, amount_cents: int, *, idempotency_key: str) -> str:
        # The sandbox holds no money: the refund succeeds at once, like a test-mode refund.
        return f"re_sandbox_{uuid.uuid5(uuid.NAMESPACE_URL, idempotency_key).hex}"
