"""The append-only double-entry ledger for money and credits.

A ``LedgerTransaction`` groups entries whose amounts sum to zero per unit (a currency
code, or ``CREDITS``). Rows are never changed: PostgreSQL triggers (migration 0002)
refuse UPDATE and DELETE and check the balance at commit. Balances are sums of entries.

Accounts: ``customer:<user_id>:cash`` (money the customer paid us, negative as they pay),
``revenue``, ``customer:<user_id>:credits`` (credits the customer holds) and
``credits_issued`` (its counterpart), ``customer:<user_id>:account_credit`` (money owed back
to the customer as credit toward their next invoices, after a downgrade; positive while held). The user id is the only link to a person, so the
books survive a deleted account.
"""
from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from common.money import format_money

CREDITS = "CREDITS"


class Kind(models.TextChoices):
    PAYMENT = "payment", "Payment"
    CREDIT_GRANT = "credit_grant", "Credit grant"
    REFUND = "refund", "Refund"
    CREDIT_REVOKE = "credit_revoke", "Credit revocation"
    ACCOUNT_CREDIT = "account_credit", "Account credit (plan change)"
    ACCOUNT_CREDIT_SPENT = "credit_spent", "Account credit spent"


class LedgerTransaction(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # One posting per business fact (e.g. "payment:<id>"): a retried task cannot post twice.
    reference = models.CharField(max_length=200, unique=True)
    user_id = models.UUIDField(null=True, blank=True, db_index=True)
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}"


class LedgerEntry(models.Model):
    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries")
    account = models.CharField(max_length=100, db_index=True)
    amount = models.BigIntegerField(help_text="Minor units (or credits); positive is a debit to the account.")
    unit = models.CharField(max_length=8, help_text="ISO 4217 code or CREDITS.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("id",)
        verbose_name_plural = "ledger entries"
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_entry_nonzero"),
            models.CheckConstraint(condition=Q(unit__regex=r"^([A-Z]{3}|CREDITS)$"), name="ledger_entry_unit_known"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {format_money(self.amount, self.unit)}"
