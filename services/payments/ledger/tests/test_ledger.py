"""Integration: the ledger is append-only and balanced at the database level."""
import uuid

import pytest
from django.db import DatabaseError, connection, transaction

from ledger import services
from ledger.models import LedgerEntry, LedgerTransaction

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def check_now() -> None:
    """Run the deferred balance trigger now instead of at commit (tests never commit)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ledger_entry_balanced IMMEDIATE")


def test_a_payment_balances_and_balances_derive_from_entries():
    user = uuid.uuid4()
    services.record_payment(reference="p1", user_id=user, amount_cents=1200, currency="USD")
    services.grant_credits(reference="c1", user_id=user, credits=100)
    check_now()
    assert services.balance(services.cash_account(user), "USD") == -1200
    assert services.credit_balance(user) == 100
    assert services.balance(services.REVENUE, "USD") >= 1200


def test_posting_twice_with_one_reference_posts_once():
    user = uuid.uuid4()
    first, created = services.grant_credits(reference=f"g-{user}", user_id=user, credits=5)
    again, created_again = services.grant_credits(reference=f"g-{user}", user_id=user, credits=5)
    assert (created, created_again, first.pk) == (True, False, again.pk)
    assert services.credit_balance(user) == 5


def test_unbalanced_postings_are_refused_in_code():
    with pytest.raises(services.Unbalanced):
        services.post(kind="payment", reference="bad", user_id=None, entries=[("a", 5, "USD"), ("b", -4, "USD")])
    with pytest.raises(services.Unbalanced):
        services.post(kind="payment", reference="bad2", user_id=None, entries=[("a", 5, "USD"), ("b", -5, "EUR")])


def test_unbalanced_rows_are_refused_by_the_database():
    tx = LedgerTransaction.objects.create(kind="payment", reference=f"raw-{uuid.uuid4()}")
    with pytest.raises(DatabaseError, match="does not balance"):
        with transaction.atomic():
            LedgerEntry.objects.create(transaction=tx, account="a", amount=5, unit="USD")
            check_now()


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_ledgerentry SET amount = amount * 2",
    "DELETE FROM ledger_ledgerentry",
    "UPDATE ledger_ledgertransaction SET memo = 'edited'",
    "DELETE FROM ledger_ledgertransaction",
])
def test_rows_cannot_be_changed_or_deleted(statement):
    services.record_payment(reference=f"p-{uuid.uuid4()}", user_id=uuid.uuid4(), amount_cents=100, currency="USD")
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)


def test_orm_updates_are_refused_too():
    tx, _ = services.grant_credits(reference=f"g-{uuid.uuid4()}", user_id=uuid.uuid4(), credits=1)
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            LedgerTransaction.objects.filter(pk=tx.pk).update(memo="x")
