"""Tiers from subscription facts: order-independent, staff override wins, every change
published and audited."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from accounts.models import AuditEntry, Tier
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import outbox_events
from tiers import services
from tiers.models import Subscription

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def data(user, sub_id, **extra):
    return {"subscription_id": str(sub_id), "user_id": str(user.pk), "plan": "pro-monthly", **extra}


def activated(user, sub_id, minutes, tier="pro"):
    services.subscription_activated(
        data(user, sub_id, tier=tier, current_period_end=(at(minutes) + timedelta(days=30)).isoformat(),
             activated_at=at(minutes).isoformat()), at(minutes))


def expired(user, sub_id, minutes):
    services.subscription_expired(data(user, sub_id, expired_at=at(minutes).isoformat()), at(minutes))


def canceled(user, sub_id, minutes):
    services.subscription_canceled(
        data(user, sub_id, cancel_at=at(minutes + 60).isoformat(), canceled_at=at(minutes).isoformat()), at(minutes))


def changes(user) -> list[tuple[str, str, str]]:
    return [(e["data"]["previous_tier"], e["data"]["tier"], e["data"]["reason"])
            for e in outbox_events("auth.user.tier_changed") if e["data"]["user_id"] == str(user.pk)]


def test_activation_cancel_and_expiry_in_order():
    user, sub = UserFactory(), uuid.uuid4()
    activated(user, sub, 0)
    user.refresh_from_db()
    assert user.tier == Tier.PRO
    canceled(user, sub, 5)
    user.refresh_from_db()
    assert user.tier == Tier.PRO and Subscription.objects.get(pk=sub).cancel_at == at(65)
    expired(user, sub, 10)
    user.refresh_from_db()
    assert user.tier == Tier.FREE
    assert changes(user) == [("free", "pro", "subscription"), ("pro", "free", "expiry")]
    assert AuditEntry.objects.filter(target_user_id=user.pk, action="tier.changed").count() == 2


def test_expiry_arriving_before_its_activation_leaves_the_user_free():
    user, sub = UserFactory(), uuid.uuid4()
    expired(user, sub, 10)
    activated(user, sub, 0)  # older than the expiry already applied
    user.refresh_from_db()
    assert user.tier == Tier.FREE and changes(user) == []


def test_an_older_activation_after_a_renewal_changes_nothing():
    user, sub = UserFactory(), uuid.uuid4()
    activated(user, sub, 30, tier="partner")
    activated(user, sub, 0, tier="pro")
    user.refresh_from_db()
    assert user.tier == Tier.PARTNER
    assert Subscription.objects.get(pk=sub).current_period_end == at(30) + timedelta(days=30)
    assert changes(user) == [("free", "partner", "subscription")]


def test_a_renewal_after_an_expiry_makes_the_user_pro_again():
    user, sub = UserFactory(), uuid.uuid4()
    activated(user, sub, 0)
    expired(user, sub, 10)
    activated(user, sub, 20)
    user.refresh_from_db()
    assert user.tier == Tier.PRO and len(changes(user)) == 3


def test_the_best_active_subscription_wins():
    user, pro, partner = UserFactory(), uuid.uuid4(), uuid.uuid4()
    activated(user, pro, 0, tier="pro")
    activated(user, partner, 1, tier="partner")
    expired(user, pro, 2)
    user.refresh_from_db()
    assert user.tier == Tier.PARTNER


def test_staff_override_wins_over_expiry_and_is_audited():
    staff = UserFactory(is_staff=True)
    user, sub = UserFactory(), uuid.uuid4()
    activated(user, sub, 0)
    services.set_staff_override(user.pk, Tier.PARTNER, actor=staff, reason="launch partner")
    expired(user, sub, 10)
    user.refresh_from_db()
    assert user.tier == Tier.PARTNER
    entry = AuditEntry.objects.get(target_user_id=user.pk, action="tier.override")
    assert (entry.actor_id, entry.old_value, entry.new_value, entry.reason) == (staff.pk, "none", "partner", "launch partner")
    services.set_staff_override(user.pk, None, actor=staff, reason="contract ended")
    user.refresh_from_db()
    assert user.tier == Tier.FREE  # the subscription has expired meanwhile
    assert changes(user) == [("free", "pro", "subscription"), ("pro", "partner", "staff"), ("partner", "free", "staff")]


def test_events_for_an_unknown_user_are_recorded_and_harmless():
    stranger = UserFactory.build()
    sub = uuid.uuid4()
    activated(stranger, sub, 0)
    assert Subscription.objects.get(pk=sub).is_active
    assert changes(stranger) == []
