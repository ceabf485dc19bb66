"""What was bought, as this service (the merchant) knows it. These rows change only
through verified provider webhooks, the subscription tasks, and staff refunds."""
from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from common.money import format_money
from customers.models import Customer
from plans.models import CreditPack, Plan


class CheckoutStatus(models.TextChoices):
    OPEN = "open", "Open"
    COMPLETED = "completed", "Completed"
    EXPIRED = "expired", "Expired"


class CheckoutSession(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="checkouts")
    provider = models.CharField(max_length=20)
    provider_session_id = models.CharField(max_length=255, null=True, blank=True)
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT)
    credit_pack = models.ForeignKey(CreditPack, null=True, blank=True, on_delete=models.PROTECT)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=CheckoutStatus.choices, default=CheckoutStatus.OPEN)
    url = models.URLField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(fields=("provider", "provider_session_id"), name="checkout_provider_session_unique"),
            # Exactly one thing is bought per checkout.
            models.CheckConstraint(condition=Q(plan__isnull=True) ^ Q(credit_pack__isnull=True), name="checkout_one_item"),
        ]


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    CANCELED = "canceled", "Canceled (runs to period end)"
    EXPIRED = "expired", "Expired"


LIVE_STATUSES = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.CANCELED)


class Subscription(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT)
    provider = models.CharField(max_length=20)
    provider_subscription_id = models.CharField(max_length=255)
    status = models.CharField(max_length=20, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE)
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField()
    canceled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    past_due_since = models.DateTimeField(null=True, blank=True)
    # The provider time of the newest event applied: older events arriving late are ignored.
    provider_updated_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(fields=("provider", "provider_subscription_id"), name="subscription_provider_id_unique"),
            models.UniqueConstraint(fields=("customer",), condition=Q(status__in=["active", "past_due", "canceled"]),
                                    name="subscription_one_live_per_customer"),
            models.CheckConstraint(condition=Q(status__in=SubscriptionStatus.values), name="subscription_status_known"),
        ]

    def __str__(self) -> str:
        return f"{self.plan.code} for {self.customer_id} ({self.status})"


class PaymentStatus(models.TextChoices):
    PAID = "paid", "Paid"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"


class Payment(models.Model):
    """One successful charge (the caller's invoices)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=20)
    provider_payment_id = models.CharField(max_length=255)
    subscription = models.ForeignKey(Subscription, null=True, blank=True, on_delete=models.PROTECT, related_name="payments")
    credit_pack = models.ForeignKey(CreditPack, null=True, blank=True, on_delete=models.PROTECT)
    description = models.CharField(max_length=200)
    amount_cents = models.PositiveIntegerField()
    refunded_cents = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3)
    credits = models.PositiveIntegerField(default=0, help_text="Credits this payment bought.")
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PAID)
    paid_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-paid_at",)
        constraints = [
            models.UniqueConstraint(fields=("provider", "provider_payment_id"), name="payment_provider_id_unique"),
            models.CheckConstraint(condition=Q(refunded_cents__lte=models.F("amount_cents")), name="payment_refund_within_amount"),
        ]

    def __str__(self) -> str:
        return f"{self.description} {format_money(self.amount_cents, self.currency)}"


class Refund(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_cents = models.PositiveIntegerField()
    credits_revoked = models.PositiveIntegerField(default=0)
    provider_refund_id = models.CharField(max_length=255, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at",)
        constraints = [models.CheckConstraint(condition=Q(amount_cents__gte=1), name="refund_amount_positive")]


class WebhookEvent(models.Model):
    """Every provider event applied, once: the unique key makes a replay a no-op."""

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    provider_created_at = models.DateTimeField()
    outcome = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-received_at",)
        constraints = [models.UniqueConstraint(fields=("provider", "event_id"), name="webhook_event_unique")]
