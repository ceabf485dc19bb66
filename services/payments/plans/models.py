"""What can be bought. Checkout and subscriptions (a later issue) point at a Plan by id;
a plan is retired by ``active=False``, never deleted, so old subscriptions keep their terms."""
from __future__ import annotations

from django.db import models
from django.db.models import Q


class Tier(models.TextChoices):
    FREE = "free", "Free"
    PRO = "pro", "Pro"
    PARTNER = "partner", "Partner"


class Interval(models.TextChoices):
    MONTH = "month", "Monthly"
    YEAR = "year", "Yearly"


class PlanQuerySet(models.QuerySet):
    def active(self) -> "PlanQuerySet":
        return self.filter(active=True)


class Plan(models.Model):
    code = models.SlugField(max_length=50, unique=True, help_text="Stable identifier clients send at checkout.")
    name = models.CharField(max_length=100)
    price_cents = models.PositiveIntegerField(help_text="Price per interval in the currency's minor unit.")
    currency = models.CharField(max_length=3, default="USD", help_text="ISO 4217 code, upper case.")
    interval = models.CharField(max_length=10, choices=Interval.choices, default=Interval.MONTH)
    tier = models.CharField(max_length=20, choices=Tier.choices)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ("price_cents", "code")
        constraints = [
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="plan_currency_iso4217"),
            models.CheckConstraint(condition=Q(tier__in=Tier.values), name="plan_tier_known"),
            models.CheckConstraint(condition=Q(interval__in=Interval.values), name="plan_interval_known"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class CreditPackQuerySet(models.QuerySet):
    def active(self) -> "CreditPackQuerySet":
        return self.filter(active=True)


class CreditPack(models.Model):
    """A one-off purchase of image credits. Retired with active=False, never deleted,
    because payments and refunds point at it."""

    code = models.SlugField(max_length=50, unique=True, help_text="Stable identifier clients send at checkout.")
    name = models.CharField(max_length=100)
    credits = models.PositiveIntegerField()
    price_cents = models.PositiveIntegerField(help_text="Price in the currency's minor unit.")
    currency = models.CharField(max_length=3, default="USD", help_text="ISO 4217 code, upper case.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CreditPackQuerySet.as_manager()

    class Meta:
        ordering = ("price_cents", "code")
        constraints = [
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="pack_currency_iso4217"),
            models.CheckConstraint(condition=Q(credits__gte=1), name="pack_credits_positive"),
            models.CheckConstraint(condition=Q(price_cents__gte=1), name="pack_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"
