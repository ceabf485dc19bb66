"""Integration: cancel, renewal and expiry (the periodic tasks), on the sandbox provider."""
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from billing import subscriptions, tasks
from billing.models import Payment, Subscription
from sandbox import services as sandbox
from sandbox.models import SandboxWebhook

from .conftest import client_poster, outbox

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def buy(api_client, auth, card="4242424242424242") -> Subscription:
    url = api_client.post("/api/payments/checkout", {"plan": "pro-monthly"}, format="json", **auth).json()["checkout_url"]
    session_id = url.rsplit("/", 1)[1]
    sandbox.pay(session_id, card)
    deliver_all()
    return Subscription.objects.get(customer__user_id=auth_user(auth), status__in=["active", "past_due", "canceled"])


def auth_user(auth):
    import jwt
    return jwt.decode(auth["HTTP_AUTHORIZATION"].split()[1], options={"verify_signature": False})["sub"]


def deliver_all() -> None:
    for webhook in SandboxWebhook.objects.filter(delivered_at__isnull=True, abandoned_at__isnull=True):
        assert sandbox.deliver(webhook.id, post=client_poster(Client())) == sandbox.DELIVERED


def keys(customer) -> list[str]:
    return [key.removeprefix("payments.").removesuffix(".v1") for key, _ in outbox(customer.user_id)]


def test_cancel_then_expire_at_period_end(api_client, auth, customer, pro_plan):
    sub = buy(api_client, auth)
    response = api_client.post("/api/payments/subscription/cancel", format="json", **auth)
    assert response.status_code == 200
    body = response.json()["subscription"]
    assert (body["status"], body["cancel_at_period_end"]) == ("canceled", True)
    # Canceling again is a no-op with the same answer.
    assert api_client.post("/api/payments/subscription/cancel", format="json", **auth).json()["subscription"] == body
    assert subscriptions.expire_due(timezone.now()) == 0  # still inside the paid period
    assert subscriptions.renew_due(sub.current_period_end + timedelta(seconds=1)) == 0  # canceled: no renewal
    assert subscriptions.expire_due(sub.current_period_end + timedelta(seconds=1)) == 1
    assert subscriptions.expire_due(sub.current_period_end + timedelta(seconds=2)) == 0  # idempotent
    assert Subscription.objects.get(pk=sub.pk).status == "expired"
    assert keys(customer) == ["subscription.activated", "subscription.canceled", "subscription.expired"]
    assert api_client.get("/api/payments/subscription", **auth).json() == {"subscription": None}


def test_renewal_charges_once_per_period(api_client, auth, customer, pro_plan):
    sub = buy(api_client, auth)
    due = sub.current_period_end + timedelta(minutes=1)
    assert subscriptions.renew_due(due) == 1
    assert subscriptions.renew_due(due) == 1  # asked again before the webhook landed...
    assert SandboxWebhook.objects.filter(type="invoice.paid").count() == 1  # ...but charged once
    deliver_all()
    renewed = Subscription.objects.get(pk=sub.pk)
    assert renewed.current_period_end > sub.current_period_end and renewed.status == "active"
    assert subscriptions.renew_due(due) == 0  # the new period is not due
    assert Payment.objects.filter(subscription=sub).count() == 2
    assert keys(customer) == ["subscription.activated", "subscription.activated"]


def test_card_that_fails_later_goes_past_due_then_expires_after_grace(api_client, auth, customer, pro_plan, settings):
    sub = buy(api_client, auth, card="4000000000000341")
    assert sub.status == "active"
    subscriptions.renew_due(sub.current_period_end + timedelta(minutes=1))
    deliver_all()
    sub.refresh_from_db()
    assert sub.status == "past_due"
    assert subscriptions.expire_due(timezone.now()) == 0  # in grace
    later = timezone.now() + timedelta(days=settings.PAYMENTS_PAST_DUE_GRACE_DAYS, minutes=1)
    assert subscriptions.expire_due(later) == 1
    assert Subscription.objects.get(pk=sub.pk).status == "expired"
    assert keys(customer) == ["subscription.activated", "subscription.past_due", "subscription.expired"]


def test_the_celery_tasks_run_the_same_steps(api_client, auth, customer, pro_plan):
    buy(api_client, auth)
    assert tasks.renew_due_subscriptions.apply().get() == 0
    assert tasks.expire_subscriptions.apply().get() == 0


def test_user_sees_and_cancels_only_their_own_subscription(api_client, auth, customer, pro_plan, verifier, make_token):
    sub = buy(api_client, auth)
    from customers.tests.factories import CustomerFactory
    other = CustomerFactory()
    other_auth = {"HTTP_AUTHORIZATION": f"Bearer {make_token(other.user_id)}"}
    assert api_client.get("/api/payments/subscription", **other_auth).json() == {"subscription": None}
    assert api_client.post("/api/payments/subscription/cancel", format="json", **other_auth).status_code == 404
    assert Subscription.objects.get(pk=sub.pk).status == "active"
    assert api_client.get("/api/payments/invoices", **other_auth).json()["total"] == 0
    assert api_client.get("/api/payments/ledger", **other_auth).json()["total"] == 0
    mine = api_client.get("/api/payments/invoices", **auth).json()
    assert mine["total"] == 1 and mine["items"][0]["amount_cents"] == 1200
    assert api_client.get("/api/payments/subscription", **auth).json()["subscription"]["id"] == str(sub.id)


def test_a_canceled_subscription_resumes_before_its_period_ends_and_renews_again(api_client, auth, customer, pro_plan):
    sub = buy(api_client, auth)
    api_client.post("/api/payments/subscription/cancel", format="json", **auth)
    resumed = api_client.post("/api/payments/subscription/resume", format="json", **auth)
    assert resumed.status_code == 200, resumed.content
    body = resumed.json()["subscription"]
    assert (body["status"], body["cancel_at_period_end"], body["canceled_at"]) == ("active", False, None)
    # Resuming what runs already is a no-op with the same answer.
    assert api_client.post("/api/payments/subscription/resume", format="json", **auth).json()["subscription"] == body
    # Auth hears an activation after the cancellation: the plan no longer ends.
    assert keys(customer) == ["subscription.activated", "subscription.canceled", "subscription.activated"]
    assert subscriptions.expire_due(sub.current_period_end + timedelta(seconds=1)) == 0
    assert subscriptions.renew_due(sub.current_period_end + timedelta(seconds=1)) == 1


def test_an_ended_or_missing_subscription_cannot_be_resumed(api_client, auth, customer, pro_plan):
    assert api_client.post("/api/payments/subscription/resume", format="json", **auth).status_code == 404
    sub = buy(api_client, auth)
    api_client.post("/api/payments/subscription/cancel", format="json", **auth)
    Subscription.objects.filter(pk=sub.pk).update(current_period_end=timezone.now() - timedelta(seconds=1))
    refused = api_client.post("/api/payments/subscription/resume", format="json", **auth)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "subscription_not_resumable"
