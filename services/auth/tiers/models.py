"""What auth knows of each subscription, as told by payments' events.

Events may arrive twice (the inbox drops the second) and out of order (each fact keeps
the ``occurred_at`` of the latest event that set it, and older events lose).
"""
from __future__ import annotations

from django.db import models
from django.utils import timezone

from accounts.models import Tier


class Subscription(models.Model):
    subscription_id = models.UUIDField(primary_key=True)
    # No foreign key: an event may name an account deleted since.
    user_id = models.UUIDField(db_index=True)
    plan = models.CharField(max_length=64, blank=True)
    tier = models.CharField(max_length=16, choices=Tier.choices, null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    activated_event_at = models.DateTimeField(null=True, blank=True)
    expired_event_at = models.DateTimeField(null=True, blank=True)
    cancel_at = models.DateTimeField(null=True, blank=True)
    canceled_event_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    @property
    def is_active(self) -> bool:
        if self.activated_event_at is None or self.tier is None:
            return False
        return self.expired_event_at is None or self.activated_event_at > self.expired_event_at

    def __str__(self) -> str:
        return f"{self.plan or self.subscription_id} ({'active' if self.is_active else 'inactive'})"
