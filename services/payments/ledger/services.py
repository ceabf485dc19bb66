"""Posting to the ledger and reading balances. Every posting is one transaction whose
entries balance per unit, keyed by a unique ``reference`` so a retry posts nothing twice."""
from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Sum

from .models import CREDITS, LedgerEntry, LedgerTransaction

REVENUE = "revenue"
CREDITS_ISSUED = "credits_issued"


class Unbalanced(ValueError):
    pass


def cash_account(user_id: uuid.UUID | str) -> str:
    return f"customer:{user_id}:cash"


def credits_account(user_id: uuid.UUID | str) -> str:
    return f"customer:{user_id}:credits"


def account_credit_account(user_id: uuid.UUID | str) -> str:
    return f"customer:{user_id}:account_credit"


def post(*, kind: str, reference: str, user_id, entries: Iterable[tuple[str, int, str]], memo: str = "") -> tuple[LedgerTransaction, bool]:
    """Post ``entries`` (account, amount, unit). Returns (transaction, created); an existing
    reference returns the earlier transaction untouched."""
    entries = [(account, int(amount), unit) for account, amount, unit in entries if amount]
    totals: dict[str, int] = defaultdict(int)
    for _, amount, unit in entries:
        totals[unit] += amount
    if not entries or any(totals.values()):
        raise Unbalanced(f"entries for {reference} do not balance: {dict(totals)}")
    existing = LedgerTransaction.objects.filter(reference=reference).first()
    if existing is not None:
        return existing, False
    try:
        # A savepoint, so a concurrent duplicate leaves the caller's transaction usable.
        with transaction.atomic():
            tx = LedgerTransaction.objects.create(kind=kind, reference=reference, user_id=user_id, memo=memo[:200])
            LedgerEntry.objects.bulk_create(
                LedgerEntry(transaction=tx, account=account, amount=amount, unit=unit) for account, amount, unit in entries
            )
    except IntegrityError:
        return LedgerTransaction.objects.get(reference=reference), False
    return tx, True


def balance(account: str, unit: str) -> int:
    return LedgerEntry.objects.filter(account=account, unit=unit).aggregate(total=Sum("amount"))["total"] or 0


def credit_balance(user_id) -> int:
    return balance(credits_account(user_id), CREDITS)


def record_payment(*, reference: str, user_id, amount_cents: int, currency: str, memo: str = ""):
    """The customer paid us: their cash account goes down, revenue goes up."""
    return post(kind="payment", reference=reference, user_id=user_id, memo=memo, entries=[
        (cash_account(user_id), -amount_cents, currency), (REVENUE, amount_cents, currency)])


def grant_credits(*, reference: str, user_id, credits: int, memo: str = ""):
    return post(kind="credit_grant", reference=reference, user_id=user_id, memo=memo, entries=[
        (CREDITS_ISSUED, -credits, CREDITS), (credits_account(user_id), credits, CREDITS)])


def record_refund(*, reference: str, user_id, amount_cents: int, currency: str, credits: int, memo: str = ""):
    """Money back to the customer and, in the same posting, the credits it had bought."""
    entries = [(REVENUE, -amount_cents, currency), (cash_account(user_id), amount_cents, currency)]
    if credits:
        entries += [(credits_account(user_id), -credits, CREDITS), (CREDITS_ISSUED, credits, CREDITS)]
    return post(kind="refund", reference=reference, user_id=user_id, memo=memo, entries=entries)


def account_credit_balance(user_id, currency: str) -> int:
    return balance(account_credit_account(user_id), currency)


def record_account_credit(*, reference: str, user_id, amount_cents: int, currency: str, memo: str = ""):
    """A downgrade's unused time: revenue given back, held as credit toward the next invoices
    (the provider keeps the same balance and spends it first)."""
    return post(kind="account_credit", reference=reference, user_id=user_id, memo=memo, entries=[
        (REVENUE, -amount_cents, currency), (account_credit_account(user_id), amount_cents, currency)])


def record_account_credit_spent(*, reference: str, user_id, amount_cents: int, currency: str, memo: str = ""):
    """An invoice paid (in part) from account credit: that credit becomes revenue again."""
    return post(kind="credit_spent", reference=reference, user_id=user_id, memo=memo, entries=[
        (account_credit_account(user_id), -amount_cents, currency), (REVENUE, amount_cents, currency)])
