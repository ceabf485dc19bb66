"""The real consumer on this run's RabbitMQ vhost: duplicates applied once, out-of-order
facts resolved by occurred_at, and the next refreshed token carries the new tier.

The consumer commits its own transactions, so this test works on committed data and
removes what it made."""
import json
import uuid
from datetime import datetime, timedelta, timezone

import pika
import pytest
from atelier_messaging.topology import EVENTS_EXCHANGE, declare_topology
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import login, outbox_events
from tiers.models import Subscription

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def envelope(event_type: str, minutes: int, data: dict) -> dict:
    return {"id": str(uuid.uuid4()), "type": event_type, "version": 1, "producer": "payments",
            "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
            "correlation_id": "test", "data": data}


def publish(*envelopes: dict) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(settings.ATELIER_AMQP_URL))
    try:
        channel = conn.channel()
        declare_topology(channel)
        channel.confirm_delivery()
        for env in envelopes:
            channel.basic_publish(
                exchange=EVENTS_EXCHANGE, routing_key=f"{env['type']}.v1", body=json.dumps(env).encode(), mandatory=True,
                properties=pika.BasicProperties(message_id=env["id"], content_type="application/json",
                                                delivery_mode=pika.DeliveryMode.Persistent),
            )
    finally:
        conn.close()


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    made: dict = {"users": [], "subs": [], "messages": []}
    with django_db_blocker.unblock():
        yield made
        Subscription.objects.filter(pk__in=made["subs"]).delete()
        User.objects.filter(pk__in=made["users"]).delete()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM inbox WHERE message_id = ANY(%s::uuid[])", [made["messages"]])
            cursor.execute("DELETE FROM outbox WHERE body::jsonb -> 'data' ->> 'user_id' = ANY(%s)",
                           [[str(u) for u in made["users"]]])


def test_duplicates_and_out_of_order_events_and_the_next_token(committed):
    user = UserFactory(email_verified=True)
    sub = uuid.uuid4()
    committed["users"].append(user.pk)
    committed["subs"].append(sub)
    client = APIClient()
    pair = login(client, user.email)

    base = {"subscription_id": str(sub), "user_id": str(user.pk), "plan": "pro-monthly"}
    activation = envelope("payments.subscription.activated", 0, {
        **base, "tier": "pro", "current_period_end": "2026-12-23T12:00:00Z", "activated_at": "2026-11-23T12:00:00Z"})
    stale_expiry = envelope("payments.subscription.expired", -10, {**base, "expired_at": "2026-11-23T11:50:00Z"})
    cancel = envelope("payments.subscription.canceled", 5, {
        **base, "cancel_at": "2026-12-23T12:00:00Z", "canceled_at": "2026-11-23T12:05:00Z"})
    committed["messages"] += [activation["id"], stale_expiry["id"], cancel["id"]]
    publish(cancel, activation, activation, stale_expiry)  # the cancel first, the activation twice

    call_command("consume_events", "--drain")
    user.refresh_from_db()
    assert user.tier == "pro"
    assert Subscription.objects.get(pk=sub).cancel_at is not None
    events = [e for e in outbox_events("auth.user.tier_changed") if e["data"]["user_id"] == str(user.pk)]
    assert [(e["data"]["previous_tier"], e["data"]["tier"]) for e in events] == [("free", "pro")]

    # No new login: the refreshed access token says pro.
    response = client.post("/api/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 200, response.content
    claims = json.loads(__import__("base64").urlsafe_b64decode(response.json()["access"].split(".")[1] + "=="))
    assert claims["tier"] == "pro"

    expiry = envelope("payments.subscription.expired", 20, {**base, "expired_at": "2026-12-23T12:00:00Z"})
    committed["messages"].append(expiry["id"])
    publish(expiry, expiry)
    call_command("consume_events", "--drain")
    user.refresh_from_db()
    assert user.tier == "free"
    events = [e for e in outbox_events("auth.user.tier_changed") if e["data"]["user_id"] == str(user.pk)]
    assert len(events) == 2 and events[1]["data"]["reason"] == "expiry"
