"""Auth flows through the gateway only: verification by the mailed link, API keys
exchanged by the gateway (and dead within seconds of revocation), the internal route
kept off the public edge, logout, and a tier event taking effect on the next refresh."""
from __future__ import annotations

import email
import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pika
import pytest

from .flows import PASSWORD, claims, eventually

pytestmark = pytest.mark.e2e


def mailed_header(mail_dir: Path, address: str, header: str) -> str | None:
    for path in sorted(mail_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes())
        if message.get("To") == address and message.get(header):
            return message[header]
    return None


@pytest.fixture(scope="module")
def client(platform):
    with httpx.Client(base_url=platform["base_url"], timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def person(client, platform):
    address = f"auth-e2e-{uuid.uuid4().hex[:10]}@example.com"
    assert client.post("/api/auth/signup", json={"email": address, "password": PASSWORD}).status_code == 201
    mail_dir = Path(platform["env"]["ATELIER_MAIL_DIR"])
    token = eventually(lambda: mailed_header(mail_dir, address, "X-Atelier-Verification-Token"), "the verification mail")
    verified = client.post("/api/auth/verify", json={"token": token})
    assert verified.status_code == 200, verified.text
    assert verified.json()["verified"] is True
    pair = client.post("/api/auth/token", json={"email": address, "password": PASSWORD}).json()
    assert claims(pair["access"])["verified"] is True
    return {"email": address, "pair": pair, "headers": {"Authorization": f"Bearer {pair['access']}"}}


def test_the_internal_introspection_route_is_not_reachable_through_the_gateway(client, person):
    response = client.post("/internal/api-keys/introspect", json={"key": "atl_live_" + "a" * 40},
                           headers={"X-Internal-Token": "guess"})
    assert response.status_code == 404


def test_an_api_key_works_through_the_gateway_and_stops_soon_after_revocation(client, person):
    created = client.post("/api/auth/api-keys", json={"name": "e2e", "scopes": ["jobs:read"]}, headers=person["headers"])
    assert created.status_code == 201, created.text
    secret, key_id = created.json()["secret"], created.json()["id"]

    for headers in ({"X-API-Key": secret}, {"Authorization": f"Bearer {secret}"}):
        me = client.get("/api/auth/me", headers=headers)
        assert me.status_code == 200, me.text
        assert me.json()["email"] == person["email"]
    listed = client.get("/api/auth/api-keys", headers=person["headers"]).json()["items"]
    assert [k["last_used_at"] is not None for k in listed if k["id"] == key_id] == [True]

    assert client.delete(f"/api/auth/api-keys/{key_id}", headers=person["headers"]).status_code == 204
    eventually(lambda: client.get("/api/auth/me", headers={"X-API-Key": secret}).status_code == 401,
               "the revoked key being refused", timeout=10)


def test_a_subscription_event_makes_the_next_refreshed_token_pro(client, person, platform):
    me = client.get("/api/auth/me", headers=person["headers"]).json()
    now = datetime.now(timezone.utc)
    event = {
        "id": str(uuid.uuid4()), "type": "payments.subscription.activated", "version": 1, "producer": "payments",
        "occurred_at": now.isoformat().replace("+00:00", "Z"), "correlation_id": "auth-e2e",
        "data": {"subscription_id": str(uuid.uuid4()), "user_id": me["id"], "plan": "pro-monthly", "tier": "pro",
                 "current_period_end": (now + timedelta(days=30)).isoformat().replace("+00:00", "Z"),
                 "activated_at": now.isoformat().replace("+00:00", "Z")},
    }
    connection = pika.BlockingConnection(pika.URLParameters(platform["env"]["ATELIER_AMQP_URL"]))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        for _ in range(2):  # delivered twice: applied once
            channel.basic_publish("atelier.events", "payments.subscription.activated.v1", json.dumps(event).encode(),
                                  pika.BasicProperties(message_id=event["id"], content_type="application/json",
                                                       delivery_mode=2), mandatory=True)
    finally:
        connection.close()
    eventually(lambda: client.get("/api/auth/me", headers=person["headers"]).json()["tier"] == "pro", "the tier change")
    refreshed = client.post("/api/auth/token/refresh", json={"refresh": person["pair"]["refresh"]})
    assert refreshed.status_code == 200, refreshed.text
    assert claims(refreshed.json()["access"])["tier"] == "pro"
    person["pair"] = refreshed.json()


def test_logout_revokes_the_refresh_token(client, person):
    refresh = person["pair"]["refresh"]
    assert client.post("/api/auth/logout", json={"refresh": refresh}).status_code == 204
    again = client.post("/api/auth/token/refresh", json={"refresh": refresh})
    assert again.status_code == 401 and again.json()["error"]["code"] == "token_revoked"  # the session has ended


def test_the_openapi_document_is_served_through_the_gateway(client):
    response = client.get("/api/auth/openapi.json")
    assert response.status_code == 200 and "/api/auth/api-keys" in response.json()["paths"]
