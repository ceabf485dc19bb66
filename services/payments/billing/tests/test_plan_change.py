"""Integration: changing plan without canceling, on the sandbox provider, real Postgres."""
import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from billing import subscriptions
from billing.models import Payment, Subscription
from billing.proration import prorate
from customers.tests.factories import CustomerFactory
from ledger import services as ledger
from ledger.models import LedgerTransaction
from plans.models import Plan
from sandbox import services as sandbox
from sandbox.models import SandboxSession, SandboxWebhook

from .conftest import client_poster, outbox

pytestmark = pytest.mark.integration

CHANGE = "/api/payments/subscription/change"
PREVIEW = "/api/payments/subscription/change-preview"


@pytest.fixture
def partner_plan(db) -> Plan:
    return Plan.objects.get_or_create(code="partner-monthly", defaults={
        "name": "Partner", "price_cents": 9900, "currency": "USD", "interval": "month", "tier": "partner"})[0]


def deliver_all() -> None:
    for webhook in SandboxWebhook.objects.filter(delivered_at__isnull=True, abandoned_at__isnull=True):
        assert sandbox.deliver(webhook.id, post=client_poster(Client())) == sandbox.DELIVERED


def buy(api_client, auth, customer, plan="pro-monthly", card="4242424242424242") -> Subscription:
    url = api_client.post("/api/payments/checkout", {"plan": plan}, format="json", **auth).json()["checkout_url"]
    sandbox.pay(url.rsplit("/", 1)[1], card)
    deliver_all()
    return Subscription.objects.get(customer=customer, status="active")


def kinds(customer) -> list[str]:
    return list(LedgerTransaction.objects.filter(user_id=customer.user_id).order_by("created_at")
                .values_list("kind", flat=True))


@pytest.mark.django_db
def test_upgrade_previews_then_charges_the_prorated_difference_now(api_client, auth, customer, pro_plan, partner_plan):
    sub = buy(api_client, auth, customer)
    # Half the period used: half of each price, as Stripe prorates.
    now = timezone.now()
    Subscription.objects.filter(pk=sub.pk).update(current_period_start=now - timedelta(days=15),
                                                  current_period_end=now + timedelta(days=15))
    sub.refresh_from_db()

    preview = api_client.get(PREVIEW, {"plan": "partner-monthly"}, **auth)
    assert preview.status_code == 200, preview.content
    quote = preview.json()
    assert (quote["plan"], quote["tier"], quote["current_plan"], quote["currency"]) == (
        "partner-monthly", "partner", "pro-monthly", "USD")
    assert quote["next_price_cents"] == 9900 and quote["account_credit_added_cents"] == 0
    assert quote["amount_due_cents"] == quote["remaining_charge_cents"] - quote["unused_credit_cents"]
    assert (quote["unused_credit_cents"], quote["remaining_charge_cents"]) == (600, 4950)
    assert Subscription.objects.get(pk=sub.pk).plan_id == pro_plan.id  # a preview changes nothing

    changed = api_client.post(CHANGE, {"plan": "partner-monthly"}, format="json", **auth)
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert (body["subscription"]["plan"], body["subscription"]["tier"], body["subscription"]["status"]) == (
        "partner-monthly", "partner", "active")
    payment = Payment.objects.get(pk=body["invoice"]["id"])
    expected = prorate(old_price_cents=1200, new_price_cents=9900, period_start=sub.current_period_start,
                       period_end=sub.current_period_end, at=payment.paid_at).net_cents
    assert payment.amount_cents == expected == body["invoice"]["amount_cents"]
    assert abs(payment.amount_cents - quote["amount_due_cents"]) <= 1  # a few seconds later
    assert payment.description == "Partner (prorated change from Pro)"
    assert kinds(customer) == ["payment", "payment"]
    # Auth hears the same activation a purchase sends, now with the new tier.
    key, data = outbox(customer.user_id)[-1]
    assert key.startswith("payments.subscription.activated") and (data["tier"], data["plan"]) == ("partner", "partner-monthly")
    # The provider's own invoice.paid for the change arrives later and records nothing twice.
    deliver_all()
    assert Payment.objects.filter(customer=customer).count() == 2
    # The next period is billed at the new price.
    assert SandboxSession.objects.get(subscription_id=sub.provider_subscription_id).amount_cents == 9900
    subscriptions.renew_due(sub.current_period_end + timedelta(seconds=1))
    deliver_all()
    assert Payment.objects.get(customer=customer, description="Partner renewal").amount_cents == 9900
    assert api_client.get("/api/payments/subscription", **auth).json()["subscription"]["plan"] == "partner-monthly"


@pytest.mark.django_db
def test_downgrade_is_immediate_and_its_credit_pays_the_next_invoices(api_client, auth, customer, pro_plan, partner_plan):
    sub = buy(api_client, auth, customer, plan="partner-monthly")
    quote = api_client.get(PREVIEW, {"plan": "pro-monthly"}, **auth).json()
    assert quote["amount_due_cents"] == 0 and quote["account_credit_added_cents"] > 1200
    changed = api_client.post(CHANGE, {"plan": "pro-monthly"}, format="json", **auth)
    assert changed.status_code == 200, changed.content
    assert changed.json()["subscription"]["tier"] == "pro"
    assert changed.json()["invoice"]["amount_cents"] == 0
    credit = ledger.account_credit_balance(customer.user_id, "USD")
    assert abs(credit - quote["account_credit_added_cents"]) <= 1
    assert kinds(customer) == ["payment", "account_credit"]
    # The credit shows in the caller's ledger.
    entries = api_client.get("/api/payments/ledger", **auth).json()["items"]
    assert any(e["kind"] == "account_credit" and e["amount"] == credit for e in entries)
    # Switching back up spends the credit before charging the card.
    back = api_client.get(PREVIEW, {"plan": "partner-monthly"}, **auth).json()
    assert back["account_credit_applied_cents"] == min(credit, back["remaining_charge_cents"] - back["unused_credit_cents"])
    # Renewal on Pro: the credit covers it, nothing is charged, and the books say so.
    deliver_all()
    subscriptions.renew_due(sub.current_period_end + timedelta(seconds=1))
    deliver_all()
    assert Payment.objects.get(customer=customer, description="Pro renewal").amount_cents == 0
    assert ledger.account_credit_balance(customer.user_id, "USD") == credit - 1200
    assert kinds(customer)[-1] == "credit_spent"
    assert SandboxSession.objects.get(subscription_id=sub.provider_subscription_id).credit_cents == credit - 1200


@pytest.mark.django_db
def test_refusals_carry_codes_and_change_nothing(api_client, auth, customer, pro_plan, partner_plan):
    assert api_client.get(PREVIEW, {"plan": "partner-monthly"}, **auth).json()["error"]["code"] == "subscription_not_found"
    missing = api_client.post(CHANGE, {"plan": "partner-monthly"}, format="json", **auth)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "subscription_not_found")
    sub = buy(api_client, auth, customer)
    for bad in ({"plan": "no-such-plan"}, {"plan": "free"}, {"plan": ""}, {}, {"plan": "partner-monthly", "x": 1}):
        refused = api_client.post(CHANGE, bad, format="json", **auth)
        assert refused.status_code == 400, (bad, refused.content)
        assert refused.json()["error"]["code"] == "validation_error"
    assert "plan" in api_client.post(CHANGE, {"plan": "nope"}, format="json", **auth).json()["error"]["fields"]
    assert api_client.get(PREVIEW, **auth).status_code == 400
    assert api_client.get(PREVIEW, {"plan": "partner-monthly", "extra": "1"}, **auth).status_code == 400
    same = api_client.post(CHANGE, {"plan": "pro-monthly"}, format="json", **auth)
    assert (same.status_code, same.json()["error"]["code"]) == (409, "plan_unchanged")
    yearly = Plan.objects.create(code="pro-yearly", name="Pro yearly", price_cents=12000, currency="USD",
                                 interval="year", tier="pro")
    other = api_client.post(CHANGE, {"plan": yearly.code}, format="json", **auth)
    assert other.status_code == 400 and "plan" in other.json()["error"]["fields"]
    api_client.post("/api/payments/subscription/cancel", format="json", **auth)
    canceled = api_client.post(CHANGE, {"plan": "partner-monthly"}, format="json", **auth)
    assert (canceled.status_code, canceled.json()["error"]["code"]) == (409, "subscription_canceled")
    assert "resume" in canceled.json()["error"]["message"]
    assert api_client.get(PREVIEW, {"plan": "partner-monthly"}, **auth).status_code == 409
    assert Subscription.objects.get(pk=sub.pk).plan_id == pro_plan.id
    assert Payment.objects.filter(customer=customer).count() == 1


@pytest.mark.django_db
def test_a_card_that_fails_refuses_an_upgrade_and_nothing_changes(api_client, auth, customer, pro_plan, partner_plan):
    sub = buy(api_client, auth, customer, card="4000000000000341")
    refused = api_client.post(CHANGE, {"plan": "partner-monthly"}, format="json", **auth)
    assert (refused.status_code, refused.json()["error"]["code"]) == (402, "plan_change_declined")
    assert Subscription.objects.get(pk=sub.pk).plan_id == pro_plan.id
    assert SandboxSession.objects.get(subscription_id=sub.provider_subscription_id).amount_cents == 1200


def test_two_changes_at_once_run_one_after_the_other(django_db_setup, django_db_blocker, make_token, verifier):
    """Two threads, two connections, committed transactions: the row lock serialises them, so
    the second sees the first's plan and is refused as unchanged; one payment, one event."""
    barrier = threading.Barrier(2)
    answers, failures = [], []
    with django_db_blocker.unblock():
        for code, price, tier in (("pro-monthly", 1200, "pro"), ("partner-monthly", 9900, "partner")):
            Plan.objects.get_or_create(code=code, defaults={"name": tier.title(), "price_cents": price,
                                                            "currency": "USD", "interval": "month", "tier": tier})
        customer = CustomerFactory()
        auth = {"HTTP_AUTHORIZATION": f"Bearer {make_token(customer.user_id)}"}
        from rest_framework.test import APIClient
        buy(APIClient(), auth, customer)

        def change() -> None:
            try:
                barrier.wait(timeout=10)
                answers.append(APIClient().post(CHANGE, {"plan": "partner-monthly"}, format="json", **auth))
            except Exception as exc:  # noqa: BLE001 - asserted below
                failures.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=change) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert failures == []
        assert sorted(a.status_code for a in answers) == [200, 409], [a.content for a in answers]
        assert Payment.objects.filter(customer=customer).count() == 2
        assert [k for k, _ in outbox(customer.user_id)].count("payments.subscription.activated.v1") == 2
