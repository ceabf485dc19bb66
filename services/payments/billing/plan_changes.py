"""Changing plan without canceling first, prorated the way Stripe does by default: the unused
rest of the period on the old price is credited, the same time on the new price charged, and
the difference invoiced at once. Upgrades and downgrades both take effect immediately; a
downgrade's difference stays on the account as credit that the next invoices spend first
(Stripe's customer balance), never a refund. The tier follows through the same
``payments.subscription.activated`` that a purchase sends."""
from __future__ import annotations

from datetime import datetime

from atelier_django.exceptions import ApiError
from django.db import transaction
from django.utils import timezone
from rest_framework import status

from ledger import services as ledger
from plans.models import Plan
from plans.services import purchasable_plan

from . import events, metrics
from .models import Payment, Subscription, SubscriptionStatus
from .proration import prorate
from .providers import get_provider
from .providers.base import PlanChange, ProviderError
from .subscriptions import _locked_live, current_subscription


def _changeable(sub: Subscription) -> None:
    if sub.status == SubscriptionStatus.CANCELED:
        raise ApiError(code="subscription_canceled",
                       detail="your subscription is canceled; resume it first, then change plan",
                       status_code=status.HTTP_409_CONFLICT)
    if sub.status != SubscriptionStatus.ACTIVE:
        raise ApiError(code="subscription_past_due",
                       detail="your last renewal failed; once it is paid you can change plan",
                       status_code=status.HTTP_409_CONFLICT)


def _target(sub: Subscription, code: str) -> Plan:
    plan = purchasable_plan(code)
    if plan is None:
        raise ApiError(code="validation_error", fields={"plan": ["there is no plan by that name on sale"]})
    if plan.pk == sub.plan_id:
        raise ApiError(code="plan_unchanged", detail=f"you are on {plan.name} already",
                       status_code=status.HTTP_409_CONFLICT)
    if (plan.currency, plan.interval) != (sub.plan.currency, sub.plan.interval):
        # Proration is defined within one billing period; another interval starts a new one.
        raise ApiError(code="validation_error", fields={"plan": [
            "this plan is billed in another currency or interval: cancel, then subscribe to it"]})
    return plan


def quote(sub: Subscription, plan: Plan, at: datetime) -> dict:
    """What switching costs at ``at``, in minor units; account credit held pays first."""
    proration = prorate(old_price_cents=sub.plan.price_cents, new_price_cents=plan.price_cents,
                        period_start=sub.current_period_start, period_end=sub.current_period_end, at=at)
    owed = max(0, proration.net_cents)
    spent = min(owed, ledger.account_credit_balance(sub.customer.user_id, plan.currency))
    return {
        "plan": plan.code, "tier": plan.tier, "current_plan": sub.plan.code, "currency": plan.currency,
        "unused_credit_cents": proration.unused_credit_cents,
        "remaining_charge_cents": proration.remaining_charge_cents,
        "account_credit_applied_cents": spent, "amount_due_cents": owed - spent,
        "account_credit_added_cents": max(0, -proration.net_cents),
        "next_price_cents": plan.price_cents, "next_billing_at": sub.current_period_end, "proration_date": at,
    }


def preview_change(user_id: str, plan_code: str, at: datetime | None = None) -> dict:
    sub = current_subscription(user_id)
    if sub is None:
        raise ApiError(code="subscription_not_found", detail="you have no subscription to change",
                       status_code=status.HTTP_404_NOT_FOUND)
    _changeable(sub)
    return quote(sub, _target(sub, plan_code), at or timezone.now())


def _record(sub: Subscription, old: Plan, change: PlanChange, at: datetime) -> Payment:
    """The change's invoice as a payment (zero when credit or a downgrade covered it) and its
    ledger postings, keyed by the provider's invoice id like every other charge."""
    plan, user_id = sub.plan, sub.customer.user_id
    description = f"{plan.name} (prorated change from {old.name})"
    payment, _ = Payment.objects.get_or_create(
        provider=sub.provider, provider_payment_id=change.invoice_id,
        defaults={"customer": sub.customer, "subscription": sub, "description": description,
                  "amount_cents": change.amount_paid_cents, "currency": plan.currency, "period_start": at,
                  "period_end": sub.current_period_end, "paid_at": at})
    money = {"user_id": user_id, "currency": plan.currency, "memo": description}
    if change.amount_paid_cents:
        ledger.record_payment(reference=f"payment:{payment.id}", amount_cents=change.amount_paid_cents, **money)
    if change.balance_applied_cents:
        ledger.record_account_credit_spent(reference=f"credit_spent:{payment.id}",
                                           amount_cents=change.balance_applied_cents, **money)
    if change.balance_credited_cents:
        ledger.record_account_credit(reference=f"account_credit:{payment.id}",
                                     amount_cents=change.balance_credited_cents, **money)
    return payment


def change_plan(user_id: str, plan_code: str) -> tuple[Subscription, Payment]:
    """Switch now. The subscription row stays locked from the checks to the commit, so two
    changes at once (two tabs) run one after the other and the second sees the first's plan."""
    with transaction.atomic():
        sub = _locked_live(user_id, "change")
        _changeable(sub)
        plan = _target(sub, plan_code)
        at = timezone.now()
        try:
            change = get_provider(sub.provider).change_plan(sub, plan, proration_date=at)
        except ProviderError as exc:
            if exc.retryable:
                raise ApiError(code="provider_unavailable", detail=f"the payment provider failed: {exc}",
                               status_code=status.HTTP_503_SERVICE_UNAVAILABLE) from exc
            raise ApiError(code="plan_change_declined", detail=f"the payment provider refused the change: {exc}",
                           status_code=status.HTTP_402_PAYMENT_REQUIRED) from exc
        old, sub.plan = sub.plan, plan
        sub.save(update_fields=["plan", "updated_at"])
        payment = _record(sub, old, change, at)
        events.subscription_activated(sub, at)
        metrics.count_subscription_change("changed")
    return sub, payment
