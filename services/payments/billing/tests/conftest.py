"""Fixtures for billing's integration tests: a customer with a token, the catalogue, and
webhooks signed and posted the way the sandbox provider sends them."""
from __future__ import annotations

import json
import time
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from billing.providers.base import sign
from customers.tests.factories import CustomerFactory
from plans.models import CreditPack, Plan

WEBHOOK_URL = "/api/payments/webhooks/sandbox"


@pytest.fixture
def pro_plan(db) -> Plan:
    return Plan.objects.get_or_create(code="pro-monthly", defaults={
        "name": "Pro", "price_cents": 1200, "currency": "USD", "interval": "month", "tier": "pro"})[0]


@pytest.fixture
def pack(db) -> CreditPack:
    return CreditPack.objects.get_or_create(code="credits-100", defaults={
        "name": "100 credits", "credits": 100, "price_cents": 500, "currency": "USD"})[0]


@pytest.fixture
def customer(db):
    return CustomerFactory()


@pytest.fixture
def auth(verifier, make_token, customer):
    """Authorization header kwargs for the customer."""
    return {"HTTP_AUTHORIZATION": f"Bearer {make_token(customer.user_id)}"}


def post_webhook(client: Client, payload, *, secret: str | None = None, timestamp: int | None = None,
                 raw: bytes | None = None):
    body = raw if raw is not None else json.dumps(payload).encode()
    header = sign(settings.PAYMENTS_SANDBOX_WEBHOOK_SECRET if secret is None else secret, body, timestamp)
    return client.generic("POST", WEBHOOK_URL, body, content_type="application/json", HTTP_ATELIER_SIGNATURE=header)


def client_poster(client: Client):
    """A sandbox.services.deliver poster that goes through the Django test client."""
    def post(url: str, body: bytes, headers: dict[str, str]) -> int:
        return client.generic("POST", urlparse(url).path, body, content_type="application/json",
                              HTTP_ATELIER_SIGNATURE=headers["Atelier-Signature"]).status_code
    return post


def outbox(user_id) -> list[tuple[str, dict]]:
    """(routing key, data) of the events written for one user, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT routing_key, body FROM outbox WHERE body LIKE %s ORDER BY id", [f"%{user_id}%"])
        return [(key, json.loads(body)["data"]) for key, body in cursor.fetchall()]


def checkout_completed(checkout, *, event_id: str = "evt_checkout_1", created: int | None = None,
                       subscription: str = "sub_test_1", period: tuple[int, int] | None = None) -> dict:
    created = created or int(time.time())
    obj = {"id": checkout.provider_session_id, "object": "checkout.session", "client_reference_id": str(checkout.id),
           "amount_total": checkout.amount_cents, "currency": checkout.currency.lower()}
    if checkout.plan_id:
        start, end = period or (created, created + 30 * 86400)
        obj.update(mode="subscription", subscription=subscription, invoice=f"in_{event_id}",
                   current_period_start=start, current_period_end=end)
    else:
        obj.update(mode="payment", payment_intent=f"pi_{event_id}")
    return {"id": event_id, "object": "event", "type": "checkout.session.completed", "created": created,
            "data": {"object": obj}}


def invoice_event(event_type: str, subscription: str, *, event_id: str, created: int, period: tuple[int, int],
                  amount: int = 1200) -> dict:
    key = "amount_paid" if event_type == "invoice.paid" else "amount_due"
    return {"id": event_id, "type": event_type, "created": created, "data": {"object": {
        "id": f"in_{event_id}", "subscription": subscription, "currency": "usd", key: amount,
        "period_start": period[0], "period_end": period[1]}}}
