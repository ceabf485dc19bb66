"""Deriving a person's tier: a staff override wins; otherwise the best tier among their
active subscriptions; otherwise free. Every change is audited and published as
``auth.user.tier_changed`` in the same transaction."""
from __future__ import annotations

import uuid
from datetime import datetime

from atelier_contracts import make_envelope
from atelier_messaging.django import publish_on_commit
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import Tier, User
from accounts.services import PRODUCER, iso

from .models import Subscription

_RANK = {Tier.FREE: 0, Tier.PRO: 1, Tier.PARTNER: 2}


def derived_tier(user: User) -> str:
    if user.tier_override:
        return user.tier_override
    tiers = [s.tier for s in Subscription.objects.filter(user_id=user.pk) if s.is_active]
    return max(tiers, key=lambda tier: _RANK[tier], default=Tier.FREE)


def _apply(user: User, *, reason: str, actor: User | None = None, note: str = "", correlation_id: str | None = None) -> bool:
    """Set ``user.tier`` to what it should be now; the caller holds the user's row lock."""
    new = derived_tier(user)
    if new == user.tier:
        return False
    old, user.tier = user.tier, new
    user.save(update_fields=["tier"])
    audit.record("tier.changed", target=user, actor=actor, old=old, new=new, reason=note or reason)
    publish_on_commit(make_envelope(
        "auth.user.tier_changed", 1,
        {"user_id": str(user.pk), "tier": new, "previous_tier": old, "reason": reason, "changed_at": iso(timezone.now())},
        producer=PRODUCER, correlation_id=correlation_id,
    ))
    return True


def _locked(subscription_id: str, user_id: str) -> Subscription:
    Subscription.objects.get_or_create(subscription_id=uuid.UUID(subscription_id), defaults={"user_id": uuid.UUID(user_id)})
    return Subscription.objects.select_for_update().get(subscription_id=subscription_id)


def _locked_user(user_id) -> User | None:
    return User.objects.select_for_update().filter(pk=user_id).first()


def subscription_activated(data: dict, occurred_at: datetime, correlation_id: str | None = None) -> None:
    with transaction.atomic():
        user = _locked_user(data["user_id"])  # user first, then subscription: one lock order
        sub = _locked(data["subscription_id"], data["user_id"])
        if sub.activated_event_at is not None and sub.activated_event_at >= occurred_at:
            return  # an older activation (or a renewal) than the one already applied
        sub.plan, sub.tier = data["plan"], data["tier"]
        sub.current_period_end = datetime.fromisoformat(data["current_period_end"].replace("Z", "+00:00"))
        sub.activated_event_at, sub.updated_at = occurred_at, timezone.now()
        if sub.canceled_event_at is not None and sub.canceled_event_at < occurred_at:
            sub.cancel_at = None  # activated again after a cancellation
        sub.save()
        if user is not None:
            _apply(user, reason="subscription", correlation_id=correlation_id)


def subscription_canceled(data: dict, occurred_at: datetime, correlation_id: str | None = None) -> None:
    """Nothing changes until the period ends (payments then sends ``expired``)."""
    with transaction.atomic():
        sub = _locked(data["subscription_id"], data["user_id"])
        if sub.canceled_event_at is not None and sub.canceled_event_at >= occurred_at:
            return
        sub.plan = sub.plan or data["plan"]
        sub.cancel_at = datetime.fromisoformat(data["cancel_at"].replace("Z", "+00:00"))
        sub.canceled_event_at, sub.updated_at = occurred_at, timezone.now()
        sub.save()


def subscription_expired(data: dict, occurred_at: datetime, correlation_id: str | None = None) -> None:
    with transaction.atomic():
        user = _locked_user(data["user_id"])
        sub = _locked(data["subscription_id"], data["user_id"])
        if sub.expired_event_at is not None and sub.expired_event_at >= occurred_at:
            return
        sub.plan = sub.plan or data["plan"]
        sub.expired_event_at, sub.updated_at = occurred_at, timezone.now()
        sub.save()
        if user is not None:
            _apply(user, reason="expiry", correlation_id=correlation_id)


def set_staff_override(user_id, tier: str | None, *, actor: User, reason: str) -> User:
    """``tier=None`` clears the override (the subscriptions decide again)."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        if user.tier_override != tier:
            audit.record("tier.override", target=user, actor=actor, old=user.tier_override or "none", new=tier or "none", reason=reason)
            user.tier_override = tier
            user.save(update_fields=["tier_override"])
        _apply(user, reason="staff", actor=actor, note=reason)
        return user
