"""Integration: webhooks are verified, idempotent, tolerant of reordering, and atomic."""
import json
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client

from billing.checkout import start_checkout
from billing.models import CheckoutSession, Payment, Subscription, WebhookEvent
from billing.providers.base import sign
from billing.subscriptions import renew_due
from customers.tests.factories import CustomerFactory
from ledger.models import LedgerTransaction
from plans.models import Plan

from .conftest import checkout_completed, invoice_event, outbox, post_webhook

pytestmark = pytest.mark.integration

DAY = 86400


def nothing_written(customer) -> bool:
    return (not Subscription.objects.filter(customer=customer).exists()
            and not Payment.objects.filter(customer=customer).exists()
            and not LedgerTransaction.objects.filter(user_id=customer.user_id).exists()
            and outbox(customer.user_id) == [])


@pytest.mark.django_db
def test_the_same_webhook_ten_times_makes_one_subscription_and_one_ledger_transaction(client, customer, pro_plan):
    checkout = start_checkout(user_id=str(customer.user_id), plan_code="pro-monthly")
    payload = checkout_completed(checkout)
    answers = [post_webhook(client, payload) for _ in range(10)]
    assert [a.status_code for a in answers] == [200] * 10
    assert answers[0].json()["outcome"] == "subscription activated"
    assert {a.json()["outcome"] for a in answers[1:]} == {"duplicate"}
    sub = Subscription.objects.get(customer=customer)
    assert (sub.status, sub.plan, sub.provider_subscription_id) == ("active", pro_plan, "sub_test_1")
    assert LedgerTransaction.objects.filter(user_id=customer.user_id).count() == 1
    assert Payment.objects.filter(customer=customer).count() == 1
    assert [key for key, _ in outbox(customer.user_id)] == ["payments.subscription.activated.v1"]
    data = outbox(customer.user_id)[0][1]
    assert (data["tier"], data["plan"], data["subscription_id"]) == ("pro", "pro-monthly", str(sub.id))
    assert CheckoutSession.objects.get(pk=checkout.pk).status == "completed"


def test_two_concurrent_deliveries_make_one_subscription(django_db_blocker):
    """Two threads, two connections, committed transactions: the second delivery waits
    on the first's claim and then changes nothing."""
    barrier = threading.Barrier(2)
    answers, failures = [], []
    with django_db_blocker.unblock():
        plan = Plan.objects.get_or_create(code="pro-monthly", defaults={
            "name": "Pro", "price_cents": 1200, "currency": "USD", "interval": "month", "tier": "pro"})[0]
        customer = CustomerFactory()
        checkout = start_checkout(user_id=str(customer.user_id), plan_code=plan.code)
        payload = checkout_completed(checkout, event_id=f"evt_{uuid.uuid4().hex}", subscription=f"sub_{uuid.uuid4().hex}")

        def deliver() -> None:
            try:
                barrier.wait(timeout=10)
                answers.append(post_webhook(Client(), payload))
            except Exception as exc:  # noqa: BLE001 - asserted below
                failures.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert failures == []
        assert sorted(a.status_code for a in answers) == [200, 200]
        assert sorted(a.json()["outcome"] for a in answers) == ["duplicate", "subscription activated"]
        assert Subscription.objects.filter(customer=customer).count() == 1
        assert LedgerTransaction.objects.filter(user_id=customer.user_id).count() == 1
        assert len(outbox(customer.user_id)) == 1
        # The ledger is append-only, so these committed rows stay in this run's database.


@pytest.mark.django_db
@pytest.mark.parametrize("secret,age,code", [
    ("not-the-secret", 0, "signature_invalid"),
    (None, 600, "signature_expired"),
    (None, -600, "signature_expired"),
])
def test_forged_and_stale_webhooks_are_refused_and_change_nothing(client, customer, pro_plan, secret, age, code):
    checkout = start_checkout(user_id=str(customer.user_id), plan_code="pro-monthly")
    response = post_webhook(client, checkout_completed(checkout), secret=secret, timestamp=int(time.time()) - age)
    assert (response.status_code, response.json()["error"]["code"]) == (400, code)
    assert nothing_written(customer) and not WebhookEvent.objects.exists()
    assert CheckoutSession.objects.get(pk=checkout.pk).status == "open"


@pytest.mark.django_db
def test_missing_signature_and_bad_bodies(client, customer):
    response = client.post("/api/payments/webhooks/sandbox", b"{}", content_type="application/json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "signature_invalid")
    for raw in (b"not json", b"[]", b'{"id": "evt", "type": "invoice.paid"}', b"\xff\xfe"):
        response = post_webhook(client, None, raw=raw)
        assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_payload"), raw
    huge = post_webhook(client, None, raw=b"{" + b" " * (300 * 1024) + b"}")
    assert (huge.status_code, huge.json()["error"]["code"]) == (413, "payload_too_large")
    assert client.get("/api/payments/webhooks/sandbox").status_code == 405
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db

@pytest.mark.django_db
def test_a_renewal_before_its_checkout_is_retried_later_not_lost(client, customer, pro_plan):
    now = int(time.time())
    early = invoice_event("invoice.paid", "sub_test_1", event_id="evt_renew", created=now,
                          period=(now + 30 * DAY, now + 60 * DAY))
    response = post_webhook(client, early)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "not_ready")
    assert not WebhookEvent.objects.exists()
    checkout = start_checkout(user_id=str(customer.user_id), plan_code="pro-monthly")
    assert post_webhook(client, checkout_completed(checkout, created=now - 5)).status_code == 200
    assert post_webhook(client, early).json()["outcome"] == "subscription renewed"
    sub = Subscription.objects.get(customer=customer)
    assert int(sub.current_period_end.timestamp()) == now + 60 * DAY
    assert Payment.objects.filter(customer=customer).count() == 2


@pytest.mark.django_db
def test_an_older_failure_arriving_after_a_newer_payment_is_ignored(client, customer, pro_plan):
    now = int(time.time())
    checkout = start_checkout(user_id=str(customer.user_id), plan_code="pro-monthly")
    post_webhook(client, checkout_completed(checkout, created=now - 100, period=(now - 100, now)))
    paid = invoice_event("invoice.paid", "sub_test_1", event_id="evt_paid", created=now - 10, period=(now, now + 30 * DAY))
    failed = invoice_event("invoice.payment_failed", "sub_test_1", event_id="evt_failed", created=now - 20,
                           period=(now, now + 30 * DAY))
    assert post_webhook(client, paid).json()["outcome"] == "subscription renewed"
    assert post_webhook(client, failed).json()["outcome"].startswith("ignored")
    assert Subscription.objects.get(customer=customer).status == "active"
    # And an older renewal replayed under a new id does not move the period back.
    older = invoice_event("invoice.paid", "sub_test_1", event_id="evt_paid_old", created=now - 50,
                          period=(now - 100, now))
    post_webhook(client, older)
    assert int(Subscription.objects.get(customer=customer).current_period_end.timestamp()) == now + 30 * DAY


@pytest.mark.django_db
def test_a_failed_renewal_makes_the_subscription_past_due_then_a_payment_restores_it(client, customer, pro_plan):
    now = int(time.time())
    checkout = start_checkout(user_id=str(customer.user_id), plan_code="pro-monthly")
    post_webhook(client, checkout_completed(checkout, created=now - 100, period=(now - 100, now)))
    post_webhook(client, invoice_event("invoice.payment_failed", "sub_test_1", event_id="evt_f", created=now - 50,
                                       period=(now, now + 30 * DAY)))
    assert Subscription.objects.get(customer=customer).status == "past_due"
    post_webhook(client, invoice_event("invoice.paid", "sub_test_1", event_id="evt_p", created=now - 10,
                                       period=(now, now + 30 * DAY)))
    assert Subscription.objects.get(customer=customer).status == "active"
    keys = [key for key, _ in outbox(customer.user_id)]
    assert keys == ["payments.subscription.activated.v1", "payments.subscription.past_due.v1",
                    "payments.subscription.activated.v1"]


@pytest.mark.django_db
def test_credit_pack_purchase_grants_credits(client, customer, pack, verifier, make_token):
    checkout = start_checkout(user_id=str(customer.user_id), pack_code="credits-100")
    assert post_webhook(client, checkout_completed(checkout)).json()["outcome"] == "credits granted"
    assert post_webhook(client, checkout_completed(checkout, event_id="evt_other_id")).json()["outcome"].startswith("ignored")
    events = outbox(customer.user_id)
    assert [key for key, _ in events] == ["payments.credits.granted.v1"]
    assert (events[0][1]["credits"], events[0][1]["reason"]) == (100, "purchase")
    ledger = client.get("/api/payments/ledger", HTTP_AUTHORIZATION=f"Bearer {make_token(customer.user_id)}").json()
    assert ledger["credit_balance"] == 100 and ledger["total"] == 2
    assert {(e["account"].rsplit(":", 1)[1], e["amount"], e["unit"]) for e in ledger["items"]} == {
        ("cash", -500, "USD"), ("credits", 100, "CREDITS")}


@pytest.mark.django_db
def test_unknown_event_types_are_acknowledged(client):
    payload = {"id": "evt_x", "type": "charge.dispute.created", "created": int(time.time()), "data": {"object": {}}}
    response = post_webhook(client, payload)
    assert (response.status_code, response.json()["outcome"]) == (200, "ignored")


@pytest.mark.django_db
def test_a_subscription_ended_event_expires_it_once(client, customer, pro_plan):
    checkout = start_checkout(user_id=str(customer.user_id), plan_code="pro-monthly")
    post_webhook(client, checkout_completed(checkout))
    ended = {"id": "evt_end", "type": "customer.subscription.deleted", "created": int(time.time()),
             "data": {"object": {"id": "sub_test_1", "object": "subscription"}}}
    post_webhook(client, ended)
    post_webhook(client, {**ended, "id": "evt_end_again"})
    assert Subscription.objects.get(customer=customer).status == "expired"
    assert [key for key, _ in outbox(customer.user_id)].count("payments.subscription.expired.v1") == 1


@pytest.mark.django_db
def test_stripe_signed_events_through_the_stripe_route(client, customer, pro_plan, settings):
    checkout = CheckoutSession.objects.create(customer=customer, provider="stripe", provider_session_id="cs_test_live",
                                              plan=pro_plan, amount_cents=1200, currency="USD")
    payload = checkout_completed(checkout, event_id="evt_stripe_1", subscription="sub_stripe_1")
    for key in ("current_period_start", "current_period_end"):  # Stripe's sessions carry no period
        payload["data"]["object"].pop(key)
    body = json.dumps(payload).encode()

    def send(header):
        return client.generic("POST", "/api/payments/webhooks/stripe", body, content_type="application/json",
                              HTTP_STRIPE_SIGNATURE=header)

    secret = settings.PAYMENTS_STRIPE_WEBHOOK_SECRET
    stale = send(sign(secret, body, int(time.time()) - 3600))
    assert (stale.status_code, stale.json()["error"]["code"]) == (400, "signature_expired")
    forged = send(sign("whsec_wrong", body))
    assert (forged.status_code, forged.json()["error"]["code"]) == (400, "signature_invalid")
    assert nothing_written(customer)
    assert send(sign(secret, body)).json()["outcome"] == "subscription activated"
    assert send(sign(secret, body)).json()["outcome"] == "duplicate"
    sub = Subscription.objects.get(customer=customer)
    assert (sub.provider, sub.provider_subscription_id, sub.status) == ("stripe", "sub_stripe_1", "active")
    assert sub.current_period_end > sub.current_period_start
    # Stripe renews by itself: the renewal task leaves its subscriptions alone.
    assert renew_due(sub.current_period_end + timedelta(minutes=1)) == 0
