"""The sandbox provider's own side: what a real provider would keep on its servers.
Merchant state (billing) never reads these; it learns only from signed webhooks."""
from __future__ import annotations

from django.db import models
from django.utils import timezone


class SandboxSession(models.Model):
    id = models.CharField(primary_key=True, max_length=64)  # cs_sandbox_<hex>
    mode = models.CharField(max_length=20)  # subscription | payment
    client_reference_id = models.CharField(max_length=64)
    description = models.CharField(max_length=200)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    interval = models.CharField(max_length=10, blank=True)
    status = models.CharField(max_length=20, default="open")  # open | complete
    payment_method = models.CharField(max_length=64, blank=True)
    subscription_id = models.CharField(max_length=64, blank=True, db_index=True)
    # After a plan change the subscription's price and name are the new plan's (renewals charge
    # them), and a downgrade's unused time waits here as credit the next invoices spend first
    # (Stripe's customer balance).
    credit_cents = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)


class SandboxWebhook(models.Model):
    """An event to deliver, with its exact body, so every retry sends the same bytes."""

    id = models.CharField(primary_key=True, max_length=80)  # evt_<...>
    type = models.CharField(max_length=100)
    body = models.TextField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    abandoned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("created_at",)
