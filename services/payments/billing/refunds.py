"""Refunds: money back through the provider, a balancing ledger posting, the credits
that payment bought withdrawn (as far as they are unspent), and payments.refund.issued."""
from __future__ import annotations

import math
import uuid

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from ledger import services as ledger

from . import events, metrics
from .models import Payment, PaymentStatus, Refund
from .providers import get_provider


class RefundError(ValueError):
    pass


def issue_refund(payment_id, *, amount_cents: int | None = None, reason: str = "") -> Refund:
    """Refund ``amount_cents`` (default: all that is left) of a payment."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update(of=("self",)).select_related("customer").filter(pk=payment_id).first()
        if payment is None:
            raise RefundError("no such payment")
        remaining = payment.amount_cents - payment.refunded_cents
        amount = remaining if amount_cents is None else amount_cents
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1 or amount > remaining:
            raise RefundError(f"refund must be between 1 and {remaining} {payment.currency} minor units")
        user_id = payment.customer.user_id
        revoked = 0
        if payment.credits:
            already = payment.refunds.aggregate(total=Sum("credits_revoked"))["total"] or 0
            share = math.ceil(payment.credits * amount / payment.amount_cents)
            # Spent credits cannot be taken back; the ledger says what is left.
            revoked = max(0, min(share, payment.credits - already, ledger.credit_balance(user_id)))
        refund_id = uuid.uuid4()
        provider_refund_id = get_provider(payment.provider).refund(payment, amount, idempotency_key=str(refund_id))
        refund = Refund.objects.create(id=refund_id, payment=payment, amount_cents=amount, credits_revoked=revoked,
                                       provider_refund_id=provider_refund_id, reason=reason[:200],
                                       created_at=timezone.now())
        new_status = PaymentStatus.REFUNDED if amount == remaining else PaymentStatus.PARTIALLY_REFUNDED
        Payment.objects.filter(pk=payment.pk).update(refunded_cents=F("refunded_cents") + amount, status=new_status)
        ledger.record_refund(reference=f"refund:{refund.id}", user_id=user_id, amount_cents=amount,
                             currency=payment.currency, credits=revoked, memo=reason or payment.description)
        events.refund_issued(refund, user_id)
        metrics.count_subscription_change("refunded")
    return refund
