"""Subscription lifecycle outside webhooks: cancel and resume (the subscriber), renew and expire
(periodic tasks), forget (account deleted). Every step locks the row and re-checks its
state, so a task run twice, or two runs at once, act once."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from atelier_django.exceptions import ApiError
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework import status

from customers.models import Customer

from . import events, metrics
from .models import LIVE_STATUSES, CheckoutSession, CheckoutStatus, Subscription, SubscriptionStatus
from .providers import get_provider
from .providers.base import ProviderError

log = logging.getLogger(__name__)


def current_subscription(user_id: str) -> Subscription | None:
    return (Subscription.objects.select_related("plan").filter(customer__user_id=user_id, status__in=LIVE_STATUSES)
            .order_by("-created_at").first())


def _locked_live(user_id: str, verb: str) -> Subscription:
    """The caller's live subscription, locked until the transaction ends; 404 when none. The
    plan is read after the lock, not joined: a query that waits on the lock re-checks its joins
    against the rows it read before waiting, so after a concurrent plan change a join on the
    old plan would hide the subscription (a false 404)."""
    sub = (Subscription.objects.select_for_update(of=("self",)).select_related("customer")
           .filter(customer__user_id=user_id, status__in=LIVE_STATUSES).first())
    if sub is None:
        raise ApiError(code="subscription_not_found", detail=f"you have no subscription to {verb}",
                       status_code=status.HTTP_404_NOT_FOUND)
    return sub


def _tell_provider(call, sub: Subscription) -> None:
    try:
        call(sub)
    except ProviderError as exc:
        raise ApiError(code="provider_unavailable", detail=f"the payment provider failed: {exc}",
                       status_code=status.HTTP_503_SERVICE_UNAVAILABLE) from exc


def cancel(user_id: str) -> Subscription:
    """Cancel at period end. Canceling a canceled subscription answers it unchanged."""
    with transaction.atomic():
        sub = _locked_live(user_id, "cancel")
        if sub.status == SubscriptionStatus.CANCELED:
            return sub
        _tell_provider(get_provider(sub.provider).cancel_at_period_end, sub)
        sub.status, sub.canceled_at = SubscriptionStatus.CANCELED, timezone.now()
        sub.save(update_fields=["status", "canceled_at", "updated_at"])
        events.subscription_canceled(sub)
        metrics.count_subscription_change("canceled")
    return sub


def resume(user_id: str) -> Subscription:
    """Undo a cancellation before the period ends: the subscription renews again. Resuming an
    active subscription answers it unchanged. Published as an activation (same plan, same
    period end), which is how auth already learns that a cancellation no longer stands."""
    with transaction.atomic():
        sub = _locked_live(user_id, "resume")
        if sub.status == SubscriptionStatus.ACTIVE:
            return sub
        if sub.status != SubscriptionStatus.CANCELED or sub.current_period_end <= timezone.now():
            raise ApiError(code="subscription_not_resumable",
                           detail="this subscription cannot be resumed; choose a plan on the pricing page",
                           status_code=status.HTTP_409_CONFLICT)
        _tell_provider(get_provider(sub.provider).resume, sub)
        sub.status, sub.canceled_at = SubscriptionStatus.ACTIVE, None
        sub.save(update_fields=["status", "canceled_at", "updated_at"])
        events.subscription_activated(sub, timezone.now())
        metrics.count_subscription_change("resumed")
    return sub


def renew_due(now: datetime | None = None) -> int:
    """Ask the provider to charge every active subscription whose period has ended.
    Providers that renew by themselves report by webhook instead."""
    now = now or timezone.now()
    due = Subscription.objects.filter(status=SubscriptionStatus.ACTIVE, current_period_end__lte=now)
    requested = 0
    for sub_id in due.values_list("id", flat=True)[:500]:
        with transaction.atomic():
            sub = (Subscription.objects.select_for_update(skip_locked=True)
                   .filter(pk=sub_id, status=SubscriptionStatus.ACTIVE, current_period_end__lte=now).first())
            if sub is None:
                continue  # changed meanwhile, or another worker has it
            try:
                requested += bool(get_provider(sub.provider).request_renewal(sub))
            except ProviderError as exc:
                log.warning("renewal of %s failed (%s); will retry next run", sub.pk, exc)
    return requested


def _expire(sub: Subscription, at: datetime) -> None:
    sub.status, sub.ended_at = SubscriptionStatus.EXPIRED, at
    sub.save(update_fields=["status", "ended_at", "updated_at"])
    events.subscription_expired(sub)
    metrics.count_subscription_change("expired")


def expire_due(now: datetime | None = None) -> int:
    """Canceled subscriptions at their period end; past-due ones after the grace period."""
    now = now or timezone.now()
    grace = timedelta(days=settings.PAYMENTS_PAST_DUE_GRACE_DAYS)
    due = (Q(status=SubscriptionStatus.CANCELED, current_period_end__lte=now)
           | Q(status=SubscriptionStatus.PAST_DUE, past_due_since__lte=now - grace))
    expired = 0
    for sub_id in Subscription.objects.filter(due).values_list("id", flat=True)[:500]:
        with transaction.atomic():
            sub = (Subscription.objects.select_for_update(of=("self",), skip_locked=True)
                   .select_related("customer", "plan").filter(due, pk=sub_id).first())
            if sub is not None:
                _expire(sub, now)
                expired += 1
    return expired


def expire_stale_checkouts(now: datetime | None = None) -> int:
    """Providers close hosted sessions after 24 h; ours close a little later, so a
    payment made in the provider's last minute still finds its checkout open."""
    cutoff = (now or timezone.now()) - timedelta(hours=25)
    return CheckoutSession.objects.filter(status=CheckoutStatus.OPEN, created_at__lt=cutoff).update(
        status=CheckoutStatus.EXPIRED)


def forget_customer(user_id: str, deleted_at: datetime) -> bool:
    """auth.user.deleted: wipe personal data, end subscriptions quietly (auth already
    forgot the user, so tier events would be noise), keep payments and the ledger,
    whose only link to the person is the user id."""
    customer = Customer.objects.select_for_update().filter(user_id=user_id).first()
    if customer is None:
        return False
    Subscription.objects.filter(customer=customer, status__in=LIVE_STATUSES).update(
        status=SubscriptionStatus.EXPIRED, ended_at=deleted_at, updated_at=timezone.now())
    CheckoutSession.objects.filter(customer=customer, status=CheckoutStatus.OPEN).update(status=CheckoutStatus.EXPIRED)
    Customer.objects.filter(pk=customer.pk).update(email="", deleted_at=deleted_at)
    return True
