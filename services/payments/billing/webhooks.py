"""Applying verified provider events to merchant state.

Each event is applied in one transaction that begins by claiming its id (unique
provider+event_id, INSERT ... ON CONFLICT DO NOTHING): a replay, or a concurrent
duplicate that waits on the first one's row lock, finds the claim taken and changes
nothing. Rows are locked (select_for_update) before their state is read, and events
older than the newest one applied to a subscription do not move it backwards.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import connection, transaction

from ledger import services as ledger

from . import events, metrics
from .models import (LIVE_STATUSES, CheckoutSession, CheckoutStatus, Payment, Subscription, SubscriptionStatus,
                     WebhookEvent)
from .providers.base import (CHECKOUT_COMPLETED, INVOICE_FAILED, INVOICE_PAID, SUBSCRIPTION_ENDED, ProviderEvent)

log = logging.getLogger(__name__)


class NotYet(Exception):
    """The event refers to something not known yet (delivered out of order): answer
    non-2xx so the provider retries later; nothing is recorded meanwhile."""


def _claim(provider: str, event: ProviderEvent) -> bool:
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (provider, event_id, type, provider_created_at, outcome, received_at) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, '', now()) ON CONFLICT (provider, event_id) DO NOTHING RETURNING id",
            [provider, event.id, event.type, event.created])
        return cursor.fetchone() is not None


def apply_event(provider: str, event: ProviderEvent) -> str:
    """Returns a short outcome (logged, and stored with the event)."""
    with transaction.atomic():
        if not _claim(provider, event):
            return "duplicate"
        handler = HANDLERS.get(event.type)
        outcome = handler(provider, event) if handler else "ignored"
        WebhookEvent.objects.filter(provider=provider, event_id=event.id).update(outcome=outcome[:200])
    log.info("webhook %s %s from %s: %s", event.type, event.id, provider, outcome)
    return outcome


def _record_payment(provider: str, event: ProviderEvent, *, customer, description: str, subscription=None,
                    pack=None, amount: int, currency: str, period=(None, None), credit_spent: int = 0) -> Payment | None:
    """One Payment and one ledger posting per provider payment id, whatever the route."""
    payment, created = Payment.objects.get_or_create(
        provider=provider, provider_payment_id=event.payment_id or event.id,
        defaults={"customer": customer, "subscription": subscription, "credit_pack": pack, "description": description,
                  "amount_cents": amount, "currency": currency, "credits": pack.credits if pack else 0,
                  "period_start": period[0], "period_end": period[1], "paid_at": event.created})
    if not created:
        return None
    user_id = customer.user_id
    if amount:
        ledger.record_payment(reference=f"payment:{payment.id}", user_id=user_id, amount_cents=amount,
                              currency=currency, memo=description)
    if credit_spent:
        ledger.record_account_credit_spent(reference=f"credit_spent:{payment.id}", user_id=user_id,
                                           amount_cents=credit_spent, currency=currency, memo=description)
    if pack:
        ledger.grant_credits(reference=f"credits:{payment.id}", user_id=user_id, credits=pack.credits, memo=description)
        events.credits_granted(grant_id=payment.id, user_id=user_id, credits=pack.credits, granted_at=event.created)
    return payment


def _period_end(start: datetime, interval: str) -> datetime:
    return start + (relativedelta(years=1) if interval == "year" else relativedelta(months=1))


def on_checkout_completed(provider: str, event: ProviderEvent) -> str:
    query = CheckoutSession.objects.select_for_update(of=("self",)).select_related("customer", "plan", "credit_pack")
    checkout = query.filter(provider=provider, provider_session_id=event.checkout_session_id).first()
    if checkout is None and event.client_reference_id:
        try:
            checkout = query.filter(provider=provider, pk=uuid.UUID(event.client_reference_id)).first()
        except ValueError:
            checkout = None
    if checkout is None:
        return "ignored: unknown checkout"  # not started here; retrying would not help
    if checkout.status != CheckoutStatus.OPEN:
        return f"ignored: checkout already {checkout.status}"
    customer = checkout.customer
    checkout.status, checkout.completed_at = CheckoutStatus.COMPLETED, event.created
    checkout.save(update_fields=["status", "completed_at"])
    amount = event.amount_cents if event.amount_cents is not None else checkout.amount_cents
    currency = event.currency or checkout.currency
    if checkout.credit_pack is not None:
        _record_payment(provider, event, customer=customer, description=checkout.credit_pack.name,
                        pack=checkout.credit_pack, amount=amount, currency=currency)
        return "credits granted"

    plan = checkout.plan
    start = event.period_start or event.created
    end = event.period_end or _period_end(start, plan.interval)
    # Serialise per customer: the one-live-subscription index must never be hit mid-transaction.
    type(customer).objects.select_for_update().filter(pk=customer.pk).first()
    for old in Subscription.objects.select_for_update().filter(customer=customer, status__in=LIVE_STATUSES):
        # Bought again while one was live (two tabs): the newer one supersedes it, and its
        # activation below sets the tier, so no expiry event is sent for the old one.
        old.status, old.ended_at = SubscriptionStatus.EXPIRED, event.created
        old.save(update_fields=["status", "ended_at", "updated_at"])
    sub, created = Subscription.objects.get_or_create(
        provider=provider, provider_subscription_id=event.subscription_id or f"checkout:{checkout.id}",
        defaults={"customer": customer, "plan": plan, "current_period_start": start, "current_period_end": end,
                  "provider_updated_at": event.created})
    if not created:
        return "ignored: subscription already exists"
    _record_payment(provider, event, customer=customer, description=f"{plan.name} subscription", subscription=sub,
                    amount=amount, currency=currency, period=(start, end))
    events.subscription_activated(sub, event.created)
    metrics.count_subscription_change("activated")
    return "subscription activated"


def _locked_subscription(provider: str, event: ProviderEvent) -> Subscription | None:
    if not event.subscription_id:
        return None
    return (Subscription.objects.select_for_update(of=("self",)).select_related("customer", "plan")
            .filter(provider=provider, provider_subscription_id=event.subscription_id).first())


def on_invoice_paid(provider: str, event: ProviderEvent) -> str:
    sub = _locked_subscription(provider, event)
    if sub is None:
        raise NotYet(f"subscription {event.subscription_id} is not known yet")
    start = event.period_start or sub.current_period_end
    end = event.period_end or _period_end(start, sub.plan.interval)
    _record_payment(provider, event, customer=sub.customer, description=f"{sub.plan.name} renewal", subscription=sub,
                    amount=event.amount_cents or 0, currency=event.currency or sub.plan.currency, period=(start, end),
                    credit_spent=event.balance_applied_cents)
    if sub.status == SubscriptionStatus.EXPIRED:
        return "payment recorded; subscription had already expired"
    if end <= sub.current_period_end:
        return "payment recorded; period already covered"
    sub.current_period_start, sub.current_period_end = start, end
    sub.provider_updated_at = max(sub.provider_updated_at, event.created)
    if sub.status == SubscriptionStatus.PAST_DUE:
        sub.status, sub.past_due_since = SubscriptionStatus.ACTIVE, None
    sub.save(update_fields=["current_period_start", "current_period_end", "provider_updated_at", "status",
                            "past_due_since", "updated_at"])
    if sub.status == SubscriptionStatus.ACTIVE:
        events.subscription_activated(sub, event.created)
    metrics.count_subscription_change("renewed")
    return "subscription renewed"


def on_invoice_failed(provider: str, event: ProviderEvent) -> str:
    sub = _locked_subscription(provider, event)
    if sub is None:
        raise NotYet(f"subscription {event.subscription_id} is not known yet")
    if event.created < sub.provider_updated_at:
        return "ignored: older than the subscription's state"
    if sub.status != SubscriptionStatus.ACTIVE:
        return f"ignored: subscription is {sub.status}"
    # The tier stays during the grace period; expire_subscriptions ends it if no payment comes.
    sub.status, sub.past_due_since, sub.provider_updated_at = SubscriptionStatus.PAST_DUE, event.created, event.created
    sub.save(update_fields=["status", "past_due_since", "provider_updated_at", "updated_at"])
    events.subscription_past_due(sub, event.created + timedelta(days=settings.PAYMENTS_PAST_DUE_GRACE_DAYS))
    metrics.count_subscription_change("past_due")
    return "subscription past due"


def on_subscription_ended(provider: str, event: ProviderEvent) -> str:
    sub = _locked_subscription(provider, event)
    if sub is None:
        return "ignored: unknown subscription"
    if sub.status == SubscriptionStatus.EXPIRED:
        return "ignored: already expired"
    sub.status, sub.ended_at = SubscriptionStatus.EXPIRED, event.created
    sub.provider_updated_at = max(sub.provider_updated_at, event.created)
    sub.save(update_fields=["status", "ended_at", "provider_updated_at", "updated_at"])
    events.subscription_expired(sub)
    metrics.count_subscription_change("expired")
    return "subscription expired"


HANDLERS = {
    CHECKOUT_COMPLETED: on_checkout_completed,
    INVOICE_PAID: on_invoice_paid,
    INVOICE_FAILED: on_invoice_failed,
    SUBSCRIPTION_ENDED: on_subscription_ended,
}
