"""Payments' admin shows money as money ("$12.34", "12.34 CHF"), never minor units, and
names its models the way people write them ("Ledger entries")."""
import uuid

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.test import Client

from billing.models import Payment
from common.money import format_money
from customers.models import Customer
from ledger import services as ledger

ADMIN = "/admin/payments/"


@pytest.mark.parametrize(("minor_units", "currency", "shown"), [
    (1234, "USD", "$12.34"),
    (5, "usd", "$0.05"),
    (-123456, "EUR", "-€1,234.56"),
    (1234, "CHF", "12.34 CHF"),
    (500, "JPY", "500 JPY"),
    (1, "CREDITS", "1 credit"),
    (-2500, "CREDITS", "-2,500 credits"),
    (None, "USD", ""),
])
def test_format_money(minor_units, currency, shown):
    assert format_money(minor_units, currency) == shown


def test_every_model_names_its_plural_in_plain_english():
    plurals = {model._meta.label: str(model._meta.verbose_name_plural) for model in apps.get_models()}
    assert plurals["ledger.LedgerEntry"] == "ledger entries"
    assert not [label for label, plural in plurals.items() if plural.endswith("ys")]


@pytest.mark.integration
@pytest.mark.django_db
def test_lists_and_detail_pages_show_money():
    staff = get_user_model().objects.create_user("boss@example.com", "boss@example.com", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    customer = Customer.objects.create(user_id=uuid.uuid4(), email="buyer@example.com")
    payment = Payment.objects.create(customer=customer, provider="sandbox", provider_payment_id="pi_1",
                                     description="Credits", amount_cents=123456, refunded_cents=1000, currency="USD")
    ledger.record_payment(reference="payment:test", user_id=customer.user_id, amount_cents=1234, currency="EUR")

    listing = client.get(f"{ADMIN}billing/payment/").content.decode()
    assert "$1,234.56" in listing and "$10.00" in listing and "123456" not in listing
    detail = client.get(f"{ADMIN}billing/payment/{payment.pk}/change/").content.decode()
    assert "$1,234.56" in detail and "123456" not in detail
    entries = client.get(f"{ADMIN}ledger/ledgerentry/").content.decode()
    assert "Ledger entries" in entries and "-€12.34" in entries and "€12.34" in entries
    assert "Ledger entries" in client.get(ADMIN).content.decode()
