"""A customer is payments' local projection of an auth user, made from
``auth.user.registered``. Checkouts, subscriptions and ledger entries will hang off it."""
from __future__ import annotations

from django.db import models
from django.utils import timezone


class Customer(models.Model):
    # Unique so that a redelivered or concurrently duplicated event makes one row.
    user_id = models.UUIDField(unique=True, help_text="The user's id in the auth service.")
    email = models.EmailField(max_length=254)
    created_at = models.DateTimeField(default=timezone.now)
    # Set when auth.user.deleted arrives: the e-mail is wiped, the row stays for the books.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.email} ({self.user_id})"
